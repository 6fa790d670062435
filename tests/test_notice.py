"""``vsa-stream notice``: the public's information, from the configuration alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsa_stream import config
from vsa_stream.cli import main
from vsa_stream.errors import ConfigError
from vsa_stream.notice import render_notice

CONFIG = """\
cameras:
  - id: quai-1
    url: rtsp://cam.example/quai1
    zones: [{id: voies, polygon: [[0, 0.7], [1, 0.7], [1, 1], [0, 1]]}]
    rules: [{type: intrusion, zones: [voies]}, {type: fire}]
  - id: hall
    url: rtsp://cam.example/hall
    rules: [{type: abandoned_object}]
outbox: {keep_events_days: 14}
privacy: {snapshots: true, retention_days: 5}
authorisations:
  - reference: "Arrêté n° 2026-12-0042"
    issuer: Préfecture du Rhône
    start: 2026-12-01
    end: 2026-12-31
    timezone: Europe/Paris
    cameras: [quai-1]
    situations: [intrusion]
notice:
  controller: Gare de Rivebourg
  contact: droits@gare.example
  dpo: dpo@gare.example
  places: {quai-1: "Quai 1, voies"}
"""


def test_the_notice_says_who_what_where_under_which_authorisation_and_for_how_long() -> None:
    cfg = config.loads(CONFIG)
    fr = render_notice(cfg, "fr")
    assert "Gare de Rivebourg" in fr
    assert "- **quai-1** (Quai 1, voies) : détecte présence dans une zone interdite" in fr
    assert "départ de feu" not in fr  # fire is in no authorisation of quai-1: it never runs
    assert "- **hall** (lieu non précisé) : détecte aucune situation" in fr
    assert "Arrêté n° 2026-12-0042" in fr
    assert "Préfecture du Rhône" in fr
    assert "du 2026-12-01 00:00 au 2027-01-01 00:00 (Europe/Paris)" in fr
    assert "Alertes (sans image) : 14 jours au plus." in fr
    assert "Images des alertes : 5 jours au plus, personnes floutées." in fr
    assert "dpo@gare.example" in fr  # rights go to the DPO when there is one
    assert "aucune reconnaissance faciale" in fr
    en = render_notice(cfg, "en")
    assert "from 2026-12-01 00:00 to 2027-01-01 00:00 (Europe/Paris)" in en
    assert "You may lodge a complaint with: CNIL" in en


def test_the_command_prints_it_and_names_the_missing_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "c.yaml"
    file.write_text(CONFIG)
    assert main(["notice", "--lang", "en", str(file)]) == 0
    assert "# Public notice" in capsys.readouterr().out
    file.write_text(CONFIG[: CONFIG.index("notice:")])
    assert main(["notice", str(file)]) == 2
    assert "notice.controller" in capsys.readouterr().err
    with pytest.raises(ConfigError) as info:
        config.loads(CONFIG.replace("{quai-1:", "{quai-9:"))
    assert info.value.path == "notice.places.quai-9"
