"""Fake `nvv4l2h264enc` (test-only; launch/fake-jetson.sh): x264enc in place of the Jetson's
NVENC H.264 encoder.

Follows NVIDIA's element as the Accelerated GStreamer guide of Jetson Linux documents it
(docs.nvidia.com/jetson/archives/r35.6.1/DeveloperGuide/SD/Multimedia/AcceleratedGstreamer.html,
"Video encode", and its gst-inspect table of nvv4l2h264enc): "sink" takes I420 or NV12 in
`memory:NVMM` only; "src" gives `video/x-h264, stream-format=byte-stream, alignment=au`;
`bitrate` in bit/s (default 4000000), `control-rate` 0 variable / 1 constant, `iframeinterval`
(default 30) and `idrinterval` (default 256) in frames, `insert-sps-pps`, `profile` 0 baseline
/ 2 main / 4 high, `preset-level` 0-4, `maxperf-enable`. Enums there are ints here: the numbers
are what camera-node writes. Force-key-unit events reach x264enc through the ghost src pad,
as they reach NVENC through the real element.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fakejetson as fj  # noqa: E402
from fakejetson import GObject, Gst  # noqa: E402

SINK_CAPS = fj.raw_caps(["I420", "NV12"], nvmm=True, system=False)
SRC_CAPS = Gst.Caps.from_string(
    f"video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, "
    f"width=(int)[ 1, {fj.MAX} ], height=(int)[ 1, {fj.MAX} ], framerate=(fraction)[ 0/1, {fj.MAX}/1 ]"
)
RW = GObject.ParamFlags.READWRITE
UINT = GObject.TYPE_UINT


class FakeNvV4l2H264Enc(Gst.Bin):
    __gtype_name__ = "nvv4l2h264enc"
    __gstmetadata__ = (
        "V4L2 H.264 Encoder (fake)",
        "Codec/Encoder/Video",
        "Encode H.264 video streams via V4L2 API, imitated with x264enc for tests without a Jetson",
        "robot-camera-streaming",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, SINK_CAPS),
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, SRC_CAPS),
    )
    PROPERTIES = {
        "bitrate": (UINT, "Target Bitrate", "Target bitrate in bits/sec", 0, 4294967295, 4000000, RW),
        "control-rate": (int, "ratecontrol", "Set control rate (0 variable, 1 constant)", 0, 1, 1, RW),
        "iframeinterval": (UINT, "IFrame Interval", "Encoding Intra Frame occurance frequency", 0, 4294967295, 30, RW),
        "idrinterval": (UINT, "IDR Frame Interval", "Encoding IDR Frame occurance frequency", 0, 4294967295, 256, RW),
        "insert-sps-pps": (bool, "Insert H.264 SPS, PPS", "Insert H.264 SPS, PPS at every IDR frame", False, RW),
        "profile": (int, "profile", "Set profile for v4l2 encode (0 baseline, 2 main, 4 high)", 0, 4, 0, RW),
        "preset-level": (int, "HW preset level", "HW preset level for encoder (0 disable ... 4 slow)", 0, 4, 1, RW),
        "maxperf-enable": (bool, "Enable Max Performance", "Enable maximum Performance", False, RW),
    }
    # PyGObject consumes __gproperties__ at class creation; PROPERTIES stays for the defaults.
    __gproperties__ = dict(PROPERTIES)

    def __init__(self):
        super().__init__()
        # Each spec ends (..., default, flags).
        self.values = {name: spec[-2] for name, spec in self.PROPERTIES.items()}
        into_system = fj.NvmmAdapter(sink_memory=("nvmm",), src_memory=("system",))
        self.encoder = fj.make("x264enc", tune="zerolatency", speed_preset="ultrafast", bframes=0)
        out = fj.make("capsfilter")
        out.set_property("caps", Gst.Caps.from_string(
            "video/x-h264, stream-format=byte-stream, alignment=au, profile=constrained-baseline"))
        fj.build_chain(self, [into_system, self.encoder, out])
        fj.ghost(self, "sink", into_system.get_static_pad("sink"))
        fj.ghost(self, "src", out.get_static_pad("src"))
        self.apply()

    def apply(self):
        self.encoder.set_property("bitrate", max(1, self.values["bitrate"] // 1000))
        self.encoder.set_property("key-int-max", self.values["idrinterval"])

    def do_get_property(self, prop):
        return self.values[prop.name]

    def do_set_property(self, prop, value):
        self.values[prop.name] = value
        self.apply()


GObject.type_register(FakeNvV4l2H264Enc)
__gstelementfactory__ = ("nvv4l2h264enc", Gst.Rank.NONE, FakeNvV4l2H264Enc)
