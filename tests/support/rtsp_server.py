"""An RTSP server that is not ours, for the fault-injection tests: GStreamer's gst-rtsp-server.

Run with the system Python (Debian ``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``)::

    /usr/bin/python3 tests/support/rtsp_server.py PORT [WIDTHxHEIGHT]

serves a live test pattern (Motion JPEG over RTP, 10 frames/s) at ``rtsp://127.0.0.1:PORT/cam``
until killed. The tests kill, pause and restart this process to inject faults.
"""

from __future__ import annotations

import sys

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402


def main() -> None:
    port = sys.argv[1]
    width, height = (sys.argv[2] if len(sys.argv) > 2 else "320x240").split("x")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball"
        f" ! video/x-raw,format=I420,width={width},height={height},framerate=10/1"
        " ! jpegenc quality=60 ! rtpjpegpay name=pay0 pt=26 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
