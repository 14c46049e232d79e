//! The few protobuf wire-format rules the Foxglove messages need, written by hand: varints,
//! length-delimited fields, and one reader/writer of the four-field layout (timestamp,
//! frame_id, data, format) that `CompressedImage` and `CompressedVideo` share under different
//! field numbers. Also the `FileDescriptorSet` builders of their schemas.

const WIRE_VARINT: u8 = 0;
const WIRE_LEN: u8 = 2;

/// Longest varint-prefixed header that precedes the payload in a message.
pub(super) const MAX_HEADER_LEN: usize = 64;

/// Field numbers of one message type's four fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Numbers {
    pub timestamp: u64,
    pub frame_id: u64,
    pub data: u64,
    pub format: u64,
}

pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u8) {
    put_varint(out, (field << 3) | u64::from(wire));
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, WIRE_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_uint(out: &mut Vec<u8>, field: u64, value: u64) {
    put_key(out, field, WIRE_VARINT);
    put_varint(out, value);
}

/// Appends one message: timestamp, frame_id, data (copied once), format.
pub(super) fn append_message(
    out: &mut Vec<u8>,
    numbers: Numbers,
    capture_ts_ns: u64,
    frame_id: &str,
    data: &[u8],
    format: &str,
) {
    let mut timestamp = Vec::with_capacity(16);
    put_uint(&mut timestamp, 1, capture_ts_ns / 1_000_000_000);
    put_uint(&mut timestamp, 2, capture_ts_ns % 1_000_000_000);
    put_bytes(out, numbers.timestamp, &timestamp);
    put_bytes(out, numbers.frame_id, frame_id.as_bytes());
    put_bytes(out, numbers.data, data);
    put_bytes(out, numbers.format, format.as_bytes());
}

/// The four fields of a decoded message (borrowing its bytes).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Fields<'a> {
    pub timestamp_ns: u64,
    pub frame_id: &'a str,
    pub format: &'a str,
    pub data: &'a [u8],
}

/// Why bytes are not the message: a short reason, wrapped with the schema name by the caller.
pub(super) type Malformed = &'static str;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first().ok_or("truncated varint")?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes")
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length overflows")?;
        if len > self.bytes.len() {
            return Err("field longer than the message");
        }
        let (field, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(field)
    }

    /// Skips a field of an unknown number (forward compatibility), by wire type.
    fn skip(&mut self, wire: u8) -> Result<(), Malformed> {
        let skip = match wire {
            WIRE_VARINT => return self.varint().map(drop),
            WIRE_LEN => return self.len_delimited().map(drop),
            1 => 8,
            5 => 4,
            _ => return Err("unsupported wire type"),
        };
        if skip > self.bytes.len() {
            return Err("truncated fixed-size field");
        }
        self.bytes = &self.bytes[skip..];
        Ok(())
    }

    fn fields(
        mut self,
        mut each: impl FnMut(u64, u8, &mut Self) -> Result<(), Malformed>,
    ) -> Result<(), Malformed> {
        while !self.bytes.is_empty() {
            let key = self.varint()?;
            let wire = (key & 7) as u8;
            each(key >> 3, wire, &mut self)?;
        }
        Ok(())
    }
}

fn text(bytes: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(bytes).map_err(|_| "string field is not UTF-8")
}

/// Decodes a message of the layout `numbers`, written by us or any other protobuf writer.
pub(super) fn decode_message(bytes: &[u8], numbers: Numbers) -> Result<Fields<'_>, Malformed> {
    let mut out = Fields::default();
    Reader { bytes }.fields(|number, wire, reader| {
        match wire {
            WIRE_LEN if number == numbers.timestamp => {
                let (mut seconds, mut nanos) = (0u64, 0u64);
                Reader {
                    bytes: reader.len_delimited()?,
                }
                .fields(|number, wire, inner| {
                    match (number, wire) {
                        (1, WIRE_VARINT) => seconds = inner.varint()?,
                        (2, WIRE_VARINT) => nanos = inner.varint()?,
                        _ => inner.skip(wire)?,
                    }
                    Ok(())
                })?;
                out.timestamp_ns = seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|ns| ns.checked_add(nanos))
                    .ok_or("timestamp out of range")?;
            }
            WIRE_LEN if number == numbers.data => out.data = reader.len_delimited()?,
            WIRE_LEN if number == numbers.format => out.format = text(reader.len_delimited()?)?,
            WIRE_LEN if number == numbers.frame_id => {
                out.frame_id = text(reader.len_delimited()?)?;
            }
            _ => reader.skip(wire)?,
        }
        Ok(())
    })?;
    Ok(out)
}

// FieldDescriptorProto.Type and .Label values (google/protobuf/descriptor.proto).
const TYPE_INT64: u64 = 3;
const TYPE_INT32: u64 = 5;
const TYPE_STRING: u64 = 9;
const TYPE_MESSAGE: u64 = 11;
const TYPE_BYTES: u64 = 12;
const LABEL_OPTIONAL: u64 = 1;

fn field(name: &str, number: u64, kind: u64, type_name: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    put_uint(&mut out, 3, number);
    put_uint(&mut out, 4, LABEL_OPTIONAL);
    put_uint(&mut out, 5, kind);
    if let Some(type_name) = type_name {
        put_bytes(&mut out, 6, type_name.as_bytes());
    }
    out
}

fn message(name: &str, fields: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    for field in fields {
        put_bytes(&mut out, 2, field);
    }
    out
}

fn file(name: &str, package: &str, dependencies: &[&str], messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, 1, name.as_bytes());
    put_bytes(&mut out, 2, package.as_bytes());
    for dependency in dependencies {
        put_bytes(&mut out, 3, dependency.as_bytes());
    }
    for message in messages {
        put_bytes(&mut out, 4, message);
    }
    put_bytes(&mut out, 12, b"proto3");
    out
}

/// The serialized `FileDescriptorSet` of `foxglove.<message_name>` (in
/// `foxglove/<message_name>.proto`) with the four fields at `numbers`, and the one file it
/// imports (`google/protobuf/timestamp.proto`).
pub(super) fn schema(message_name: &str, numbers: Numbers) -> Vec<u8> {
    const TIMESTAMP_FILE: &str = "google/protobuf/timestamp.proto";
    let timestamp = file(
        TIMESTAMP_FILE,
        "google.protobuf",
        &[],
        &[message(
            "Timestamp",
            &[
                field("seconds", 1, TYPE_INT64, None),
                field("nanos", 2, TYPE_INT32, None),
            ],
        )],
    );
    let fields = [
        field(
            "timestamp",
            numbers.timestamp,
            TYPE_MESSAGE,
            Some(".google.protobuf.Timestamp"),
        ),
        field("frame_id", numbers.frame_id, TYPE_STRING, None),
        field("data", numbers.data, TYPE_BYTES, None),
        field("format", numbers.format, TYPE_STRING, None),
    ];
    let main = file(
        &format!("foxglove/{message_name}.proto"),
        "foxglove",
        &[TIMESTAMP_FILE],
        &[message(message_name, &fields)],
    );
    let mut set = Vec::new();
    put_bytes(&mut set, 1, &timestamp);
    put_bytes(&mut set, 1, &main);
    set
}
