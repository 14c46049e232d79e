"""Shared parts of the fake Jetson elements (test-only; see launch/fake-jetson.sh).

The real elements exchange frames in NVMM (GPU) memory, marked by the caps feature
``memory:NVMM``. The fakes carry ordinary system memory, so ``NvmmAdapter`` only relabels caps
between the two, letting software elements (videotestsrc, videoflip, videoscale, jpegenc) sit
inside bins whose pads look like NVIDIA's.

Fault injection: the file named by $FAKE_JETSON_CONTROL holds one word that the fake source
reads for every frame: ``run`` (or no file) streams, ``stall`` drops every frame while it
stays (the pipeline keeps running, so only a watchdog notices), ``fail`` posts an error the way
Argus does when its session dies.

No __gstelementfactory__ here: the plugin loader imports this module too and registers nothing.
"""

import os

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstBase", "1.0")
from gi.repository import GLib, GObject, Gst, GstBase  # noqa: E402,F401

NVMM = "memory:NVMM"
MAX = 2147483647
CONTROL_ENV = "FAKE_JETSON_CONTROL"


def raw_caps(formats, nvmm, system):
    """video/x-raw caps for `formats`, in NVMM memory and/or system memory."""
    fmt = "{ " + ", ".join(formats) + " }" if len(formats) > 1 else formats[0]
    body = f"format=(string){fmt}, width=(int)[ 1, {MAX} ], height=(int)[ 1, {MAX} ], framerate=(fraction)[ 0/1, {MAX}/1 ]"
    parts = []
    if nvmm:
        parts.append(f"video/x-raw({NVMM}), {body}")
    if system:
        parts.append(f"video/x-raw, {body}")
    return Gst.Caps.from_string("; ".join(parts))


def control_word():
    """The current fault-injection word ('run' when unset or unreadable)."""
    path = os.environ.get(CONTROL_ENV)
    if not path:
        return "run"
    try:
        with open(path, encoding="ascii") as control:
            return control.read().strip() or "run"
    except OSError:
        return "run"


class NvmmAdapter(GstBase.BaseTransform):
    """Passes buffers through untouched and rewrites the caps feature between its pads."""

    __gtype_name__ = "FakeJetsonNvmmAdapter"
    __gstmetadata__ = (
        "Fake Jetson NVMM caps adapter",
        "Filter/Video",
        "Relabels system-memory caps as memory:NVMM and back (test-only)",
        "robot-camera-streaming",
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, Gst.Caps.new_any()),
        Gst.PadTemplate.new("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, Gst.Caps.new_any()),
    )

    def __init__(self, sink_memory, src_memory):
        """`sink_memory`/`src_memory`: tuples of what each side offers, among "nvmm", "system"."""
        super().__init__()
        self.memory = {Gst.PadDirection.SINK: sink_memory, Gst.PadDirection.SRC: src_memory}
        self.set_in_place(True)

    def do_transform_caps(self, direction, caps, filter_caps):
        # `direction` is the side `caps` is on; answer for the other side.
        other = Gst.PadDirection.SRC if direction == Gst.PadDirection.SINK else Gst.PadDirection.SINK
        if caps.is_any():
            return filter_caps.copy() if filter_caps is not None else Gst.Caps.new_any()
        result = Gst.Caps.new_empty()
        for index in range(caps.get_size()):
            structure = caps.get_structure(index)
            for memory in self.memory[other]:
                features = Gst.CapsFeatures.from_string(NVMM) if memory == "nvmm" else Gst.CapsFeatures.new_empty()
                result.append_structure_full(structure.copy(), features)
        if filter_caps is not None:
            result = filter_caps.intersect_full(result, Gst.CapsIntersectMode.FIRST)
        return result

    def do_transform_ip(self, buffer):
        return Gst.FlowReturn.OK


def ghost(bin_, name, target_pad):
    pad = Gst.GhostPad.new_from_template(name, target_pad, bin_.get_pad_template(name))
    pad.set_active(True)
    bin_.add_pad(pad)


def make(factory, **properties):
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        raise RuntimeError(f"fake Jetson elements need {factory} (gstreamer1.0-plugins-base/-good)")
    for key, value in properties.items():
        element.set_property(key.replace("_", "-"), value)
    return element


def build_chain(bin_, elements):
    for element in elements:
        bin_.add(element)
    for upstream, downstream in zip(elements, elements[1:]):
        if not upstream.link(downstream):
            raise RuntimeError(f"cannot link {upstream.get_name()} to {downstream.get_name()}")


GObject.type_register(NvmmAdapter)
