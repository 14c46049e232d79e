"""Fake `nvarguscamerasrc` (test-only; launch/fake-jetson.sh): a moving test pattern in place of
a CSI camera behind the Argus daemon.

Follows NVIDIA's element as documented in the Accelerated GStreamer guide of Jetson Linux
(docs.nvidia.com/jetson/archives/r35.6.1/DeveloperGuide/SD/Multimedia/AcceleratedGstreamer.html,
"CSI camera capture"; r32.x for JetPack 4.6) and as `gst-inspect-1.0 nvarguscamerasrc` prints
it on L4T: a source whose one "src" pad template is
`video/x-raw(memory:NVMM), format=NV12, width/height [1, MAX], framerate [0/1, MAX/1]`, with
the properties `sensor-id` (int, default 0) and `sensor-mode` (int, default -1 = chosen from
the caps). Argus's ISP controls (wbmode, exposuretimerange, ...) are not imitated: a pipeline
setting them fails here with "no property", which is the point of a fake that is strict.

Fault injection through $FAKE_JETSON_CONTROL: see fakejetson.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakejetson as fj  # noqa: E402
from fakejetson import GLib, GObject, Gst  # noqa: E402


class FakeNvArgusCameraSrc(Gst.Bin):
    # GStreamer names instances after the type minus "Gst": nvarguscamerasrc0, as on a Jetson.
    __gtype_name__ = "GstNvArgusCameraSrc"
    __gstmetadata__ = (
        "NvArgusCameraSrc (fake)",
        "Video/Capture",
        "nVidia ARGUS Camera Source imitated with videotestsrc, for tests without a Jetson",
        "robot-camera-streaming",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, fj.raw_caps(["NV12"], nvmm=True, system=False)),
    )
    __gproperties__ = {
        "sensor-id": (int, "Sensor ID", "Set the id of camera sensor to use", 0, 255, 0, GObject.ParamFlags.READWRITE),
        "sensor-mode": (int, "Sensor Mode", "Set the camera sensor mode to use (-1: chosen from the caps)", -1, 255, -1, GObject.ParamFlags.READWRITE),
        "num-buffers": (int, "num-buffers", "Number of buffers to output before sending EOS (-1 = unlimited)", -1, 2147483647, -1, GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        self.sensor_id = 0
        self.sensor_mode = -1
        self.failed = False
        self.pattern = fj.make("videotestsrc", is_live=True, pattern=18)  # 18 = ball: frames differ
        nv12 = fj.make("capsfilter", caps=Gst.Caps.from_string("video/x-raw, format=NV12"))
        adapter = fj.NvmmAdapter(sink_memory=("system",), src_memory=("nvmm",))
        fj.build_chain(self, [self.pattern, nv12, adapter])
        fj.ghost(self, "src", adapter.get_static_pad("src"))
        self.pattern.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self._on_buffer)

    def do_get_property(self, prop):
        if prop.name == "sensor-id":
            return self.sensor_id
        if prop.name == "sensor-mode":
            return self.sensor_mode
        return self.pattern.get_property("num-buffers")

    def do_set_property(self, prop, value):
        if prop.name == "sensor-id":
            self.sensor_id = value
        elif prop.name == "sensor-mode":
            self.sensor_mode = value
        else:
            self.pattern.set_property("num-buffers", value)

    def _on_buffer(self, _pad, _info):
        word = fj.control_word()
        if word == "stall":
            return Gst.PadProbeReturn.DROP
        if word == "fail":
            if not self.failed:
                self.failed = True
                error = GLib.Error.new_literal(Gst.ResourceError.quark(), "Failed to create CaptureSession (fake Argus told to fail)", int(Gst.ResourceError.FAILED))
                self.post_message(Gst.Message.new_error(self, error, f"sensor-id={self.sensor_id}: {fj.CONTROL_ENV} says fail"))
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK


GObject.type_register(FakeNvArgusCameraSrc)
__gstelementfactory__ = ("nvarguscamerasrc", Gst.Rank.NONE, FakeNvArgusCameraSrc)
