//! What the protocol reads from an H.264 access unit without decoding it: its NAL units
//! (Annex B start codes), whether it is a keyframe, and from the sequence parameter set the
//! picture size and the `avc1.PPCCLL` codec string browsers' WebCodecs are configured with.
//!
//! Every read is bounds-checked: an access unit arrives from the network, and a malformed SPS
//! must give an error, never a panic or a size nobody validated.

use thiserror::Error;

/// NAL unit types this crate looks at (ITU-T H.264 table 7-1).
pub mod nal {
    pub const SLICE: u8 = 1;
    pub const IDR: u8 = 5;
    pub const SEI: u8 = 6;
    pub const SPS: u8 = 7;
    pub const PPS: u8 = 8;
    pub const AUD: u8 = 9;
}

/// Longest SPS this crate parses; real ones are a few dozen bytes.
const MAX_SPS_BYTES: usize = 1024;

/// Why an access unit or SPS is not what the lane carries.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum H264Error {
    #[error("access unit does not start with an Annex B start code (00 00 01 or 00 00 00 01)")]
    NoStartCode,
    #[error("access unit has an empty NAL unit")]
    EmptyNal,
    #[error("NAL unit has the forbidden zero bit set")]
    ForbiddenBit,
    #[error("keyframe lacks its {0}: a keyframe carries SPS, PPS and an IDR slice")]
    KeyframeLacks(&'static str),
    #[error("access unit marked as a delta frame carries an IDR slice (mark it a keyframe)")]
    UnmarkedKeyframe,
    #[error("access unit carries no picture slice")]
    NoSlice,
    #[error("sequence parameter set is malformed: {0}")]
    BadSps(&'static str),
}

/// The NAL units of an Annex B access unit, each without its start code.
pub fn nal_units(au: &[u8]) -> Result<Vec<&[u8]>, H264Error> {
    let first = start_code_at(au, 0).ok_or(H264Error::NoStartCode)?;
    let mut units = Vec::new();
    let mut start = first;
    let mut at = first;
    while at + 3 <= au.len() {
        if au[at] == 0 && au[at + 1] == 0 && au[at + 2] == 1 {
            // A four-byte start code's leading zero belongs to the start code, not the NAL.
            let end = if at > start && au[at - 1] == 0 {
                at - 1
            } else {
                at
            };
            units.push(non_empty(&au[start..end])?);
            at += 3;
            start = at;
        } else {
            at += 1;
        }
    }
    units.push(non_empty(&au[start..])?);
    Ok(units)
}

fn start_code_at(au: &[u8], at: usize) -> Option<usize> {
    match au.get(at..)? {
        [0, 0, 1, ..] => Some(at + 3),
        [0, 0, 0, 1, ..] => Some(at + 4),
        _ => None,
    }
}

fn non_empty(unit: &[u8]) -> Result<&[u8], H264Error> {
    match unit.first() {
        None => Err(H264Error::EmptyNal),
        Some(header) if header & 0x80 != 0 => Err(H264Error::ForbiddenBit),
        Some(_) => Ok(unit),
    }
}

/// The type of a NAL unit (its header's low five bits).
pub fn nal_type(unit: &[u8]) -> u8 {
    unit.first().map_or(0, |header| header & 0x1f)
}

/// What the sequence parameter set says about the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub width: u32,
    pub height: u32,
    /// `avc1.PPCCLL`: profile_idc, constraint flags, level_idc in hex (RFC 6381).
    pub codec: String,
}

/// Parses an SPS NAL unit (header byte included) far enough for the picture size.
pub fn parse_sps(unit: &[u8]) -> Result<Sps, H264Error> {
    if nal_type(unit) != nal::SPS {
        return Err(H264Error::BadSps("not an SPS NAL unit"));
    }
    if unit.len() > MAX_SPS_BYTES {
        return Err(H264Error::BadSps("longer than 1024 bytes"));
    }
    let rbsp = unescape(&unit[1..]);
    let mut bits = Bits::new(&rbsp);
    let profile = bits.bits(8)? as u8;
    let constraints = bits.bits(8)? as u8;
    let level = bits.bits(8)? as u8;
    bits.ue_max(31, "seq_parameter_set_id")?;
    let mut chroma_format = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = bits.ue_max(3, "chroma_format_idc")?;
        if chroma_format == 3 {
            bits.bits(1)?; // separate_colour_plane_flag
        }
        bits.ue_max(6, "bit_depth_luma")?;
        bits.ue_max(6, "bit_depth_chroma")?;
        bits.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if bits.bits(1)? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for list in 0..lists {
                if bits.bits(1)? == 1 {
                    skip_scaling_list(&mut bits, if list < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    bits.ue_max(12, "log2_max_frame_num_minus4")?;
    match bits.ue_max(2, "pic_order_cnt_type")? {
        0 => {
            bits.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")?;
        }
        1 => {
            bits.bits(1)?;
            bits.se()?;
            bits.se()?;
            let cycle = bits.ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")?;
            for _ in 0..cycle {
                bits.se()?;
            }
        }
        _ => {}
    }
    bits.ue_max(32, "max_num_ref_frames")?;
    bits.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = bits.ue_max(1023, "pic_width_in_mbs_minus1")? + 1;
    let height_units = bits.ue_max(1023, "pic_height_in_map_units_minus1")? + 1;
    let frame_mbs_only = bits.bits(1)?;
    if frame_mbs_only == 0 {
        bits.bits(1)?; // mb_adaptive_frame_field_flag
    }
    bits.bits(1)?; // direct_8x8_inference_flag
    let height_mbs = height_units * (2 - frame_mbs_only);
    let (mut width, mut height) = (width_mbs * 16, height_mbs * 16);
    if bits.bits(1)? == 1 {
        let crop = [
            bits.ue_max(8192, "frame_crop_left_offset")?,
            bits.ue_max(8192, "frame_crop_right_offset")?,
            bits.ue_max(8192, "frame_crop_top_offset")?,
            bits.ue_max(8192, "frame_crop_bottom_offset")?,
        ];
        let (unit_x, unit_y) = match chroma_format {
            0 => (1, 2 - frame_mbs_only),
            1 => (2, 2 * (2 - frame_mbs_only)),
            2 => (2, 2 - frame_mbs_only),
            _ => (1, 2 - frame_mbs_only),
        };
        let (crop_x, crop_y) = ((crop[0] + crop[1]) * unit_x, (crop[2] + crop[3]) * unit_y);
        if crop_x >= width || crop_y >= height {
            return Err(H264Error::BadSps("cropping removes the whole picture"));
        }
        width -= crop_x;
        height -= crop_y;
    }
    Ok(Sps {
        width,
        height,
        codec: format!("avc1.{profile:02X}{constraints:02X}{level:02X}"),
    })
}

fn skip_scaling_list(bits: &mut Bits<'_>, size: usize) -> Result<(), H264Error> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + bits.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// The RBSP of a NAL payload: emulation-prevention bytes (00 00 03) removed.
fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &byte in payload {
        if zeros >= 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        out.push(byte);
    }
    out
}

/// A big-endian bit reader with exp-Golomb codes, every read bounds-checked.
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn bits(&mut self, count: u32) -> Result<u32, H264Error> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self
                .bytes
                .get(self.at / 8)
                .ok_or(H264Error::BadSps("ends early"))?;
            value = (value << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Ok(value)
    }

    fn ue(&mut self) -> Result<u32, H264Error> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(H264Error::BadSps("exp-Golomb code longer than 32 bits"));
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    fn ue_max(&mut self, max: u32, field: &'static str) -> Result<u32, H264Error> {
        let value = self.ue()?;
        if value > max {
            return Err(H264Error::BadSps(field));
        }
        Ok(value)
    }

    fn se(&mut self) -> Result<i64, H264Error> {
        let code = i64::from(self.ue()?);
        Ok(if code % 2 == 1 {
            (code + 1) / 2
        } else {
            -(code / 2)
        })
    }
}
