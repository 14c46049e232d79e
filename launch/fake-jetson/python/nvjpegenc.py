"""Fake `nvjpegenc` (test-only; launch/fake-jetson.sh): software jpegenc in place of the Jetson's
hardware JPEG encoder.

Follows NVIDIA's element as documented for Jetson: the Accelerated GStreamer guide of Jetson
Linux (docs.nvidia.com/jetson/archives/r35.6.1/DeveloperGuide/SD/Multimedia/AcceleratedGstreamer.html,
"JPEG encode") and the DeepStream Gst-nvjpegenc page
(docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvjpegenc.html): "sink"
takes I420 or NV12 in `memory:NVMM`, or I420/YV12/GRAY8 in system memory; "src" gives
`image/jpeg`; `quality` is an unsigned int 0-100, default 85.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakejetson as fj  # noqa: E402
from fakejetson import GObject, Gst  # noqa: E402

SINK_CAPS = fj.raw_caps(["I420", "NV12"], nvmm=True, system=False)
SINK_CAPS.append(fj.raw_caps(["I420", "YV12", "GRAY8"], nvmm=False, system=True))
SRC_CAPS = Gst.Caps.from_string(f"image/jpeg, width=(int)[ 1, {fj.MAX} ], height=(int)[ 1, {fj.MAX} ], framerate=(fraction)[ 0/1, {fj.MAX}/1 ]")


class FakeNvJpegEnc(Gst.Bin):
    __gtype_name__ = "GstNvJpegEnc"
    __gstmetadata__ = (
        "JPEG image encoder (fake)",
        "Codec/Encoder/Image",
        "Encode JPEG image, imitated with jpegenc for tests without a Jetson",
        "robot-camera-streaming",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, SINK_CAPS),
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, SRC_CAPS),
    )
    __gproperties__ = {
        "quality": (GObject.TYPE_UINT, "Quality", "Quality of encoding", 0, 100, 85, GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        into_system = fj.NvmmAdapter(sink_memory=("nvmm", "system"), src_memory=("system",))
        self.encoder = fj.make("jpegenc", quality=85)
        fj.build_chain(self, [into_system, self.encoder])
        fj.ghost(self, "sink", into_system.get_static_pad("sink"))
        fj.ghost(self, "src", self.encoder.get_static_pad("src"))

    def do_get_property(self, prop):
        return self.encoder.get_property("quality")

    def do_set_property(self, prop, value):
        self.encoder.set_property("quality", value)


GObject.type_register(FakeNvJpegEnc)
__gstelementfactory__ = ("nvjpegenc", Gst.Rank.NONE, FakeNvJpegEnc)
