//! The first request of a plain-HTTP connection, when it asks for an MJPEG stream or a
//! single-camera WebSocket (`/ws?cameras=ID`), is read here instead of by hyper, so that the
//! socket can leave with its response head ([`super::handoff`]): streams are then written by
//! one writer per feed, not by a hyper connection task per client (docs/benchmarks.md, the
//! bare writer's cost).
//!
//! The request still goes through the whole router (Host/Origin checks, logins, admission,
//! query validation); only the HTTP/1.1 framing is ours: the head is read with the same
//! size bound and header timeout as hyper's, parsed with httparse (hyper's own parser), and a
//! response that does not hand the socket over (an error) is written whole with
//! `Connection: close`.

use super::handoff::{Handed, Handoff};
use super::heap::OpenConnection;
use super::{DropReason, ServeOptions, MAX_REQUEST_HEAD};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use axum::Router;
use bytes::{BufMut, Bytes, BytesMut};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower_service::Service;

/// Most headers a request may carry (hyper's default is 100).
const MAX_HEADERS: usize = 100;
/// Largest error body written by [`write_whole`] (errors are small JSON documents).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether the bytes the client sent first start a request line for a stream:
/// `GET /cameras/<id>/stream.mjpg[?…] HTTP/1.x`, or `GET /ws?…cameras=<id>…` naming one
/// camera (no comma; no `%`, which could hide one). Anything else, or a request line not yet
/// complete in those bytes, is hyper's.
pub fn is_stream_request(first: &[u8]) -> bool {
    let Some(end) = first.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    let Some(target) = first[..end]
        .strip_prefix(b"GET ")
        .and_then(|rest| rest.split(|b| *b == b' ').next())
    else {
        return false;
    };
    let mut halves = target.splitn(2, |b| *b == b'?');
    let path = halves.next().unwrap_or_default();
    if path == b"/ws" {
        let query = halves.next().unwrap_or_default();
        let mut cameras = query
            .split(|b| *b == b'&')
            .filter_map(|pair| pair.strip_prefix(b"cameras="));
        return match (cameras.next(), cameras.next()) {
            (Some(one), None) => {
                !one.is_empty() && !one.iter().any(|b| matches!(b, b',' | b'%' | b'+'))
            }
            _ => false,
        };
    }
    let segments: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
    matches!(segments.as_slice(), [b"", b"cameras", id, b"stream.mjpg"] if !id.is_empty())
}

/// Serves the connection's first request (a stream request, see [`is_stream_request`]);
/// the socket is handed over or closed when this returns, or returned with the bytes read
/// from it when the handler sends the request back to hyper ([`Handoff::to_hyper`]).
pub async fn serve(
    mut stream: TcpStream,
    peer: SocketAddr,
    mut app: Router,
    options: &ServeOptions,
    open: OpenConnection,
) -> Option<(Bytes, TcpStream, OpenConnection)> {
    let deadline = Instant::now() + options.header_timeout;
    let (read, head_len) = match tokio::time::timeout_at(deadline, read_head(&mut stream)).await {
        Ok(Some(read)) => read,
        Ok(None) => return None,
        Err(_) => {
            options.drops.record(DropReason::HeaderTimeout, peer);
            return None;
        }
    };
    let head = read[..head_len].to_vec();
    let handoff = Handoff::default();
    let request = match parse(&head) {
        Ok(mut request) => {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(handoff.clone());
            request
        }
        Err(()) => {
            let response = Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .body(Body::empty())
                .unwrap_or_default();
            write_whole(stream, response, options).await;
            return None;
        }
    };
    let response = match app.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if handoff.wants_hyper() {
        return Some((read.freeze(), stream, open));
    }
    let status = response.status();
    let after_head = read.freeze().slice(head_len..);
    match handoff.take() {
        Some(take) if status == StatusCode::OK || status == StatusCode::SWITCHING_PROTOCOLS => {
            take(Handed {
                stream,
                peer,
                head: response_head(&response, None),
                after_head,
                write_stall: options.write_stall_timeout,
                idle: options.idle_timeout,
                drops: options.drops.clone(),
                open,
            })
        }
        _ => write_whole(stream, response, options).await,
    }
    None
}

/// Reads up to the request head's blank line: what was read and the head's length; `None`
/// if the client closed, erred or sent a head over [`MAX_REQUEST_HEAD`]. Bytes after the
/// head (a pipelined request) are only kept for hyper ([`Handoff::to_hyper`]): a stream is
/// the connection's last response.
async fn read_head(stream: &mut TcpStream) -> Option<(BytesMut, usize)> {
    let mut head = BytesMut::with_capacity(1024);
    loop {
        let searched = head.len().saturating_sub(3);
        if stream.read_buf(&mut head).await.ok()? == 0 {
            return None;
        }
        if let Some(at) = head[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Some((head, searched + at + 4));
        }
        if head.len() > MAX_REQUEST_HEAD {
            return None;
        }
    }
}

/// The request for the router: method, target, version and headers; no body.
fn parse(head: &[u8]) -> Result<Request<Body>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(parsed.parse(head), Ok(httparse::Status::Complete(_))) {
        return Err(());
    }
    let method = Method::from_bytes(parsed.method.ok_or(())?.as_bytes()).map_err(|_| ())?;
    let version = match parsed.version {
        Some(0) => axum::http::Version::HTTP_10,
        _ => axum::http::Version::HTTP_11,
    };
    let mut request = Request::builder()
        .method(method)
        .uri(parsed.path.ok_or(())?)
        .version(version);
    for header in parsed.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| ())?;
        let value = HeaderValue::from_bytes(header.value).map_err(|_| ())?;
        request = request.header(name, value);
    }
    request.body(Body::empty()).map_err(|_| ())
}

/// Status line and headers of `response`, `Connection: close` (the body, of `length` bytes
/// or until the socket closes, is the connection's last), and the blank line. A `101
/// Switching Protocols` keeps its headers as they are (`Connection: upgrade`).
fn response_head(response: &Response<Body>, length: Option<usize>) -> Bytes {
    let mut head = BytesMut::with_capacity(512);
    let status = response.status();
    head.put_slice(b"HTTP/1.1 ");
    head.put_slice(status.as_str().as_bytes());
    head.put_u8(b' ');
    head.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    head.put_slice(b"\r\n");
    let framing = [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
    ];
    let upgrade = status == StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in response.headers() {
        if framing.contains(name) && !upgrade {
            continue;
        }
        head.put_slice(name.as_str().as_bytes());
        head.put_slice(b": ");
        head.put_slice(value.as_bytes());
        head.put_slice(b"\r\n");
    }
    if let Some(length) = length {
        head.put_slice(format!("content-length: {length}\r\n").as_bytes());
    }
    if !upgrade {
        head.put_slice(b"connection: close\r\n");
    }
    head.put_slice(b"\r\n");
    head.freeze()
}

/// Writes a response that stays here (an error) with its body, then closes; bounded by the
/// write-stall timeout, as hyper's responses are by the stall guard.
async fn write_whole(mut stream: TcpStream, response: Response<Body>, options: &ServeOptions) {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let head = response_head(
        &Response::from_parts(parts, Body::empty()),
        Some(body.len()),
    );
    let write = async {
        stream.write_all(&head).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(options.write_stall_timeout, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_request_lines_leave_hyper() {
        for yes in [
            &b"GET /cameras/front/stream.mjpg HTTP/1.1\r\n"[..],
            b"GET /cameras/robot1.camera.front/stream.mjpg?fps=5 HTTP/1.1\r\nHost: x\r\n",
            b"GET /ws?cameras=robot1.camera.front HTTP/1.1\r\n",
            b"GET /ws?variant=preview&cameras=front HTTP/1.1\r\n",
        ] {
            assert!(is_stream_request(yes), "{yes:?}");
        }
        for no in [
            &b"GET /cameras/front/stream.mjpg HTTP/1.1"[..],
            b"HEAD /cameras/front/stream.mjpg HTTP/1.1\r\n",
            b"GET /cameras//stream.mjpg HTTP/1.1\r\n",
            b"GET /cameras/front/snapshot.jpg HTTP/1.1\r\n",
            b"GET /cameras/a/b/stream.mjpg HTTP/1.1\r\n",
            b"GET /ws HTTP/1.1\r\n",
            b"GET /ws?cameras=a,b HTTP/1.1\r\n",
            b"GET /ws?cameras=a%2Cb HTTP/1.1\r\n",
            b"GET /ws?cameras=a&cameras=b HTTP/1.1\r\n",
            b"GET /ws?cameras= HTTP/1.1\r\n",
            b"GET /wss?cameras=a HTTP/1.1\r\n",
            b"",
        ] {
            assert!(!is_stream_request(no), "{no:?}");
        }
    }

    #[test]
    fn heads_parse_into_requests_and_garbage_does_not() {
        let request = parse(b"GET /cameras/front/stream.mjpg?fps=2 HTTP/1.1\r\nHost: a:1\r\n\r\n")
            .expect("parses");
        assert_eq!(request.uri().query(), Some("fps=2"));
        assert_eq!(request.headers()["host"], "a:1");
        assert!(parse(b"GET /x HTTP/1.1\r\nBad Header\r\n\r\n").is_err());
        assert!(parse(b"\x00\x01\r\n\r\n").is_err());
    }

    #[test]
    fn heads_carry_the_headers_and_close() {
        let response = Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "multipart/x-mixed-replace; boundary=b")
            .header("transfer-encoding", "chunked")
            .body(Body::empty())
            .expect("response");
        let head = response_head(&response, None);
        assert_eq!(
            &head[..],
            b"HTTP/1.1 200 OK\r\ncontent-type: multipart/x-mixed-replace; boundary=b\r\nconnection: close\r\n\r\n"
        );
    }
}
