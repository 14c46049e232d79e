"""Fake `nvvidconv` (test-only; launch/fake-jetson.sh): scaling, format conversion and flipping
in software in place of the Jetson's VIC hardware.

Follows NVIDIA's element as the Accelerated GStreamer guide of Jetson Linux documents it
(docs.nvidia.com/jetson/archives/r35.6.1/DeveloperGuide/SD/Multimedia/AcceleratedGstreamer.html,
"Video format conversion", "Video scaling", "Video rotation"): "sink" and "src" pads take
`video/x-raw(memory:NVMM)` and `video/x-raw` (NVMM <-> system memory in either direction) in
I420, NV12 and the other listed formats; `flip-method` 0-7 = none, counterclockwise,
rotate-180, clockwise, horizontal-flip, upper-right-diagonal, vertical-flip,
upper-left-diagonal (an enum there, an int here: the numbers are what camera-node writes).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakejetson as fj  # noqa: E402
from fakejetson import GObject, Gst  # noqa: E402

FORMATS = ["I420", "NV12", "UYVY", "YUY2", "YVYU", "NV16", "NV24", "GRAY8", "BGRx", "RGBA", "Y42B"]
# nvvidconv flip-method -> videoflip method (the two enums order the same operations differently).
VIDEOFLIP_METHOD = {0: 0, 1: 3, 2: 2, 3: 1, 4: 4, 5: 7, 6: 5, 7: 6}


class FakeNvVidConv(Gst.Bin):
    __gtype_name__ = "GstNvVidConv"
    __gstmetadata__ = (
        "NvVidConv Plugin (fake)",
        "Filter/Converter/Video/Scaler",
        "Converts video from one colorspace to another & Resizes, imitated in software for tests",
        "robot-camera-streaming",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, fj.raw_caps(FORMATS, nvmm=True, system=True)),
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, fj.raw_caps(FORMATS, nvmm=True, system=True)),
    )
    __gproperties__ = {
        "flip-method": (int, "Flip-Method", "video flip methods (0 none ... 7 upper-left-diagonal)", 0, 7, 0, GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        self.flip_method = 0
        into_system = fj.NvmmAdapter(sink_memory=("nvmm", "system"), src_memory=("system",))
        self.flip = fj.make("videoflip")
        convert = fj.make("videoconvert")
        scale = fj.make("videoscale")
        out_of_system = fj.NvmmAdapter(sink_memory=("system",), src_memory=("nvmm", "system"))
        fj.build_chain(self, [into_system, self.flip, convert, scale, out_of_system])
        fj.ghost(self, "sink", into_system.get_static_pad("sink"))
        fj.ghost(self, "src", out_of_system.get_static_pad("src"))

    def do_get_property(self, prop):
        return self.flip_method

    def do_set_property(self, prop, value):
        self.flip_method = value
        self.flip.set_property("method", VIDEOFLIP_METHOD[value])


GObject.type_register(FakeNvVidConv)
__gstelementfactory__ = ("nvvidconv", Gst.Rank.NONE, FakeNvVidConv)
