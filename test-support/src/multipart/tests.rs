use super::*;

fn gateway_stream(parts: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = b"--b\r\n".to_vec();
    for (seq, jpeg) in parts {
        out.extend_from_slice(
            format!("Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: 1764000000.123456\r\nX-Frame-Seq: {seq}\r\n\r\n", jpeg.len()).as_bytes(),
        );
        out.extend_from_slice(jpeg);
        out.extend_from_slice(b"\r\n--b\r\n");
    }
    out
}

fn parse_in_pieces(parser: &mut MultipartParser, stream: &[u8], piece: usize) -> Vec<Part> {
    let mut parts = Vec::new();
    for chunk in stream.chunks(piece) {
        parser.feed(chunk, &mut |p| parts.push(p)).expect("parses");
    }
    parts
}

#[test]
fn parts_with_length_in_any_piece_size() {
    let jpeg: &[u8] = &[0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
    let stream = gateway_stream(&[(7, jpeg), (8, &[0xFF, 0xD8, 0, 0]), (9, jpeg)]);
    for piece in [1, 2, 3, 5, 64, 4096] {
        let parts = parse_in_pieces(&mut MultipartParser::new("b"), &stream, piece);
        assert_eq!(parts.len(), 3, "piece {piece}");
        assert_eq!(parts[0].seq, Some(7));
        assert_eq!(parts[0].timestamp_ns, Some(1_764_000_000_123_456_000));
        assert!(parts[0].is_jpeg && !parts[1].is_jpeg && parts[2].is_jpeg);
        assert_eq!(parts[2].len, jpeg.len());
    }
}

#[test]
fn parts_without_length_are_hashed() {
    let mut stream = Vec::new();
    for body in [
        &b"\xFF\xD8a\xFF\xD9"[..],
        b"\xFF\xD8a\xFF\xD9",
        b"\xFF\xD8bb\xFF\xD9",
    ] {
        stream.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n");
        stream.extend_from_slice(body);
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b"--frame\r\n");
    for piece in [1, 3, 7, 1000] {
        let parts = parse_in_pieces(&mut MultipartParser::new("frame"), &stream, piece);
        assert_eq!(parts.len(), 3, "piece {piece}");
        assert!(parts.iter().all(|p| p.is_jpeg && p.seq.is_none()));
        assert_eq!(parts[0].hash, parts[1].hash);
        assert_ne!(parts[1].hash, parts[2].hash);
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut parser = MultipartParser::new("b");
    assert!(matches!(
        parser.feed(b"HELLO\r\n\r\n", &mut |_| {}),
        Err(ParseError::NoBoundary(_))
    ));
    let mut parser = MultipartParser::new("b");
    assert!(parser
        .feed(b"--b\r\nContent-Length: x\r\n\r\n", &mut |_| {})
        .is_err());
    let mut parser = MultipartParser::new("b");
    assert_eq!(
        parser.feed(&vec![b'a'; MAX_HEADER + 10], &mut |_| {}),
        Err(ParseError::HeaderTooLong)
    );
}

#[test]
fn dechunks_across_pieces() {
    let body = b"hello, chunked world";
    let mut wire = Vec::new();
    for piece in body.chunks(6) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    for piece in [1, 4, 100] {
        let mut out = Vec::new();
        let mut dechunker = Dechunker::default();
        for chunk in wire.chunks(piece) {
            dechunker
                .feed(chunk, &mut |d| {
                    out.extend_from_slice(d);
                    Ok(())
                })
                .expect("dechunks");
        }
        assert_eq!(out, body);
    }
}

#[test]
fn timestamps() {
    assert_eq!(parse_timestamp("5.000001"), Some(5_000_001_000));
    assert_eq!(parse_timestamp("5"), Some(5_000_000_000));
    assert_eq!(parse_timestamp("x.1"), None);
}

#[test]
fn strict_keeps_parts_and_completes_them_at_the_next_delimiter() {
    let jpeg: &[u8] = &[0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
    let stream = gateway_stream(&[(7, jpeg), (8, jpeg)]);
    for piece in [1, 2, 5, 4096] {
        let parts = parse_in_pieces(&mut MultipartParser::strict("b"), &stream, piece);
        assert_eq!(parts.len(), 2, "piece {piece}");
        assert_eq!(parts[1].body.as_deref(), Some(jpeg));
        assert!(parts[0]
            .headers
            .contains(&("x-frame-seq".to_owned(), "7".to_owned())));
    }
    // Without the delimiter after it, the last part is not complete yet.
    let cut = stream.len() - b"\r\n--b\r\n".len();
    let parts = parse_in_pieces(&mut MultipartParser::strict("b"), &stream[..cut], 3);
    assert_eq!(parts.len(), 1);
}

#[test]
fn strict_refuses_what_the_gateway_must_not_send() {
    let wrong_length = b"--b\r\nContent-Length: 2\r\n\r\nabc\r\n--b\r\n";
    let no_length = b"--b\r\nContent-Type: image/jpeg\r\n\r\nabc\r\n--b\r\n";
    let crlf_first = b"\r\n--b\r\nContent-Length: 1\r\n\r\na\r\n--b\r\n";
    for stream in [&wrong_length[..], no_length, crlf_first] {
        let mut parser = MultipartParser::strict("b");
        assert!(parser.feed(stream, &mut |_| {}).is_err(), "{stream:?}");
        // The lenient parser reads the last one.
        let _ = MultipartParser::new("b").feed(stream, &mut |_| {});
    }
    let mut lenient = Vec::new();
    MultipartParser::new("b")
        .feed(crlf_first, &mut |p| lenient.push(p))
        .expect("lenient");
    assert_eq!(lenient.len(), 1);
}
