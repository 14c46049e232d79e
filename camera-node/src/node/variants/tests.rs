use super::*;
use crate::node::variant_config::{Lane, VariantConfig};

fn preview() -> Variant {
    let config: VariantConfig =
        toml::from_str("name = \"preview\"\nwidth = 320\nquality = 70\n").expect("parses");
    match config.resolve(640, 480, 30).expect("valid") {
        Lane::Jpeg(v) => v,
        Lane::H264(v) => panic!("a JPEG variant, not {v:?}"),
    }
}

#[test]
fn branches_hang_off_the_tee() {
    let v = preview();
    let tail = with_branches(
        "jpegenc quality=85 ! appsink name=sink",
        &branches(TEE, std::slice::from_ref(&v), Scaler::Software),
    );
    assert!(tail.starts_with("tee name=raw ! jpegenc quality=85 ! appsink name=sink raw. ! queue name=variant-queue-preview leaky=downstream"), "{tail}");
    assert!(tail.contains("videoscale ! video/x-raw,width=320,height=240 ! jpegenc quality=70 ! appsink name=variant-sink-preview"), "{tail}");
    assert_eq!(with_branches("x", ""), "x");
    let jetson = branches(
        "raw",
        &[v],
        Scaler::Nvvidconv {
            flip_method: 2,
            nvjpegenc: true,
        },
    );
    assert!(jetson.contains("nvvidconv flip-method=2 ! video/x-raw(memory:NVMM),width=320,height=240,format=I420 ! nvjpegenc quality=70"), "{jetson}");
}
