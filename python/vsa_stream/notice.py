"""``vsa-stream notice [--lang fr|en] CONFIG``: the information the public must be given.

Everything comes from the configuration: who is responsible and how to reach them
(``notice:``), what is detected and where (the cameras, their places and rules), under which
authorisations and for how long (``authorisations:``), how long alerts and snapshots are kept
(``outbox.keep_events_days``, ``privacy``), and how to exercise one's rights. The text is
Markdown, to print or publish as it is.

Example:
    >>> from vsa_stream.config import loads
    >>> cfg = loads('''
    ... privacy: {legal_profile: lab}
    ... cameras: [{id: hall, url: hall.mp4, rules: [{type: fire}]}]
    ... notice: {controller: Ville de Rivebourg, contact: dpo@rivebourg.example,
    ...          places: {hall: "Hall of the town hall"}}
    ... ''')
    >>> text = render_notice(cfg, "en")
    >>> "Ville de Rivebourg" in text and "Hall of the town hall" in text
    True
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Literal

from vsa_stream import config as config_mod
from vsa_stream.authorisation import period
from vsa_stream.config import Config
from vsa_stream.errors import ConfigError
from vsa_stream.event_types import SITUATIONS
from vsa_stream.rules.registry import REGISTRY

__all__ = ["add_notice_command", "notice_command", "render_notice"]

Lang = Literal["fr", "en"]

_TEXT: dict[str, dict[Lang, str]] = {
    "title": {
        "fr": "# Information du public : traitement algorithmique des images de vidéoprotection",
        "en": "# Public notice: algorithmic processing of video-protection images",
    },
    "lab": {
        "fr": "Profil « lab » : évaluation sur des enregistrements, aucune caméra en direct.",
        "en": 'Profile "lab": evaluation on recordings, no live camera.',
    },
    "controller": {"fr": "## Responsable du traitement", "en": "## Controller"},
    "contact": {"fr": "Contact", "en": "Contact"},
    "address": {"fr": "Adresse", "en": "Address"},
    "dpo": {"fr": "Délégué à la protection des données", "en": "Data protection officer"},
    "purposes": {"fr": "## Finalités", "en": "## Purposes"},
    "purpose": {
        "fr": "Détecter en temps réel les situations ci-dessous et les signaler à un opérateur, "
        "qui les vérifie et décide seul de la suite (loi n° 2023-380 du 19 mai 2023, article 10 ; "
        "décret n° 2023-828 du 28 août 2023). Le traitement ne prend aucune décision et "
        "n'identifie personne : aucune reconnaissance faciale, aucune donnée biométrique, aucun "
        "rapprochement entre caméras.",
        "en": "Detect the situations below in real time and report them to an operator, who "
        "checks each one and alone decides what follows (French law 2023-380 of 19 May 2023, "
        "article 10; decree 2023-828 of 28 August 2023). The processing takes no decision and "
        "identifies nobody: no face recognition, no biometric data, no linking across cameras.",
    },
    "cameras": {"fr": "## Caméras et lieux", "en": "## Cameras and places"},
    "place_unknown": {"fr": "lieu non précisé", "en": "place not given"},
    "detects": {"fr": "détecte", "en": "detects"},
    "nothing": {"fr": "aucune situation", "en": "no situation"},
    "authorisations": {"fr": "## Autorisations", "en": "## Authorisations"},
    "none": {"fr": "Aucune autorisation.", "en": "No authorisation."},
    "from_to": {"fr": "du {start} au {end}", "en": "from {start} to {end}"},
    "by": {"fr": "délivrée par", "en": "issued by"},
    "retention": {"fr": "## Durées de conservation", "en": "## Retention"},
    "alerts_kept": {
        "fr": "Alertes (sans image) : {days:g} jours au plus.",
        "en": "Alerts (no image): {days:g} days at most.",
    },
    "no_images": {
        "fr": "Images : aucune image n'est enregistrée par ce traitement.",
        "en": "Images: this processing records no image.",
    },
    "snapshots": {
        "fr": "Images des alertes : {days:g} jours au plus{blur}.",
        "en": "Alert snapshots: {days:g} days at most{blur}.",
    },
    "blurred": {"fr": ", personnes floutées", "en": ", persons blurred"},
    "rights": {"fr": "## Vos droits", "en": "## Your rights"},
    "rights_text": {
        "fr": "Vous pouvez demander l'accès aux données vous concernant, leur rectification, "
        "leur effacement ou la limitation de leur traitement (RGPD, articles 15 à 18), dans les "
        "limites prévues par la loi, auprès de : {contact}. Vous pouvez adresser une "
        "réclamation à : {complaints}.",
        "en": "You may ask for access to data about you, their rectification, their erasure or "
        "the restriction of their processing (GDPR, articles 15 to 18), within the limits set "
        "by law, from: {contact}. You may lodge a complaint with: {complaints}.",
    },
}


def _t(key: str, lang: Lang) -> str:
    return _TEXT[key][lang]


def _situation(kind: str, lang: Lang) -> str:
    fr, en = REGISTRY[kind].notice if kind in SITUATIONS else (kind, kind)
    return fr if lang == "fr" else en


def render_notice(config: Config, lang: Lang = "fr") -> str:
    """The public notice of ``config`` in ``lang``, as Markdown.

    Raises:
        ConfigError: the configuration has no ``notice`` section (controller, contact).
    """
    notice = config.notice
    if notice is None:
        raise ConfigError(
            "the public notice needs who is responsible and how to reach them: give "
            "notice.controller and notice.contact",
            path="notice",
        )
    lines = [_t("title", lang), ""]
    if config.privacy.legal_profile == "lab":
        lines += [_t("lab", lang), ""]
    lines += [_t("controller", lang), "", notice.controller]
    if notice.address:
        lines.append(_pair(_t("address", lang), notice.address, lang))
    lines.append(_pair(_t("contact", lang), notice.contact, lang))
    if notice.dpo:
        lines.append(_pair(_t("dpo", lang), notice.dpo, lang))
    lines += ["", _t("purposes", lang), "", _t("purpose", lang), ""]
    lines += [_t("cameras", lang), ""]
    for camera in config.cameras:
        if not camera.enabled:
            continue
        configured = [str(rule.__struct_config__.tag) for rule in camera.rules]
        kinds = _camera_situations(config, camera.id, configured)
        place = notice.places.get(camera.id, _t("place_unknown", lang))
        detected = ", ".join(_situation(k, lang) for k in kinds) or _t("nothing", lang)
        lines.append(
            "- " + _pair(f"**{camera.id}** ({place})", f"{_t('detects', lang)} {detected}", lang)
        )
    lines += ["", _t("authorisations", lang), ""]
    if not config.authorisations:
        lines.append(_t("none", lang))
    for auth in config.authorisations:
        start, end = period(auth)
        when = _t("from_to", lang).format(
            start=start.strftime("%Y-%m-%d %H:%M"), end=end.strftime("%Y-%m-%d %H:%M")
        )
        zone = f" ({auth.timezone})" if auth.timezone else f" (UTC{start.strftime('%z')})"
        issuer = f", {_t('by', lang)} {auth.issuer}" if auth.issuer else ""
        allows = ", ".join(_situation(k, lang) for k in auth.situations)
        sep = " ; " if lang == "fr" else "; "
        detail = sep.join((f"{when}{zone}", ", ".join(auth.cameras), allows))
        lines.append("- " + _pair(f"**{auth.reference}**{issuer}", detail, lang))
    privacy = config.privacy
    lines += ["", _t("retention", lang), ""]
    lines.append("- " + _t("alerts_kept", lang).format(days=config.outbox.keep_events_days))
    if privacy.snapshots:
        blur = _t("blurred", lang) if privacy.blur_persons else ""
        lines.append("- " + _t("snapshots", lang).format(days=privacy.retention_days, blur=blur))
    else:
        lines.append("- " + _t("no_images", lang))
    lines += ["", _t("rights", lang), ""]
    contact = notice.dpo or notice.contact
    lines.append(_t("rights_text", lang).format(contact=contact, complaints=notice.complaints))
    return "\n".join(lines) + "\n"


def _pair(label: str, value: str, lang: Lang) -> str:
    return f"{label} : {value}" if lang == "fr" else f"{label}: {value}"


def _camera_situations(config: Config, camera_id: str, configured: list[str]) -> list[str]:
    """The situations a camera's rules detect; with authorisations, only those one of the
    camera's authorisations allows (the others never run)."""
    kinds = sorted(set(configured), key=configured.index)
    if not config.authorisations:
        return kinds
    allowed = {s for a in config.authorisations if camera_id in a.cameras for s in a.situations}
    return [k for k in kinds if k in allowed]


def add_notice_command(sub: Any) -> None:
    """Add ``notice`` to the command line's subparsers."""
    parser = sub.add_parser("notice", help="print the public notice of a configuration")
    parser.add_argument("config", metavar="CONFIG")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="language (fr)")


def notice_command(args: argparse.Namespace) -> int:
    """Run ``vsa-stream notice``."""
    config = config_mod.load(args.config)
    try:
        text = render_notice(config, args.lang)
    except ConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0
