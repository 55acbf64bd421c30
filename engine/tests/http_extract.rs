//! The HTTP extractor against a real HTTP server on 127.0.0.1 serving the mirror files, plus
//! the failures a live source has: 404, 500, a stalled response, a truncated body.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use engine::base::files::sha256_hex;
use engine::config::{Fetch, Sources};
use engine::etl::extract::{
    extract_source, extract_source_reusing, fetch_source, FetchSettings, RawCopy,
};

fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// A small HTTP/1.1 server: one thread per connection, bounded by the test's lifetime.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || handle(stream, &counter));
        }
    });
    Server { base, hits }
}

fn handle(mut stream: TcpStream, hits: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
            break;
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let respond = |stream: &mut TcpStream, status: &str, body: &[u8], declared_len: usize| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {declared_len}\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    match path.as_str() {
        p if p.starts_with("/mirror/") => {
            let file = mirror().join(&p["/mirror/".len()..]);
            match std::fs::read(&file) {
                Ok(bytes) => respond(&mut stream, "200 OK", &bytes, bytes.len()),
                Err(_) => respond(&mut stream, "404 Not Found", b"", 0),
            }
        }
        "/500" => respond(&mut stream, "500 Internal Server Error", b"oops", 4),
        "/stall" => {
            std::thread::sleep(Duration::from_secs(3));
            respond(&mut stream, "200 OK", b"late", 4);
        }
        "/truncated" => respond(&mut stream, "200 OK", b"Country Name,Country Code", 10_000),
        _ => respond(&mut stream, "404 Not Found", b"", 0),
    }
}

fn settings() -> FetchSettings {
    FetchSettings {
        timeout: Duration::from_millis(800),
        retries: 2,
        backoff: Duration::from_millis(10),
        force: Some(Fetch::Live),
        max_bytes: 1 << 30,
    }
}

fn source_with(url: &str, mirror_path: Option<&str>) -> engine::config::Source {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    let mut source = Sources::load(&config, &mirror())
        .unwrap()
        .get("imf_weo_2024oct")
        .unwrap()
        .clone();
    source.url = Some(url.to_string());
    source.mirror = mirror_path.map(|m| mirror().join(m));
    source
}

#[test]
fn reads_the_url_and_records_provenance() {
    let srv = serve();
    let url = format!("{}/mirror/imf_weo_2024oct/ngdpd_by_year_raw.json", srv.base);
    let source = source_with(&url, None);
    let dir = tempfile::tempdir().unwrap();
    let prov = extract_source(&source, &settings(), dir.path()).unwrap();
    let original = std::fs::read(mirror().join("imf_weo_2024oct/ngdpd_by_year_raw.json")).unwrap();
    assert_eq!(prov.read_from, "url");
    assert_eq!(prov.location, url);
    assert_eq!(prov.fallback_reason, None);
    assert_eq!(prov.sha256, sha256_hex(&original));
    assert_eq!(prov.size_bytes, original.len() as u64);
    assert_eq!(
        std::fs::read(dir.path().join(&prov.raw_file["raw/".len()..])).unwrap(),
        original
    );
    assert!((chrono::Utc::now() - prov.fetched_at).num_seconds() < 60);
}

#[test]
fn a_body_fetched_again_unchanged_links_the_earlier_copy_and_a_changed_one_is_written() {
    use std::os::unix::fs::MetadataExt;
    let srv = serve();
    let url = format!("{}/mirror/imf_weo_2024oct/ngdpd_by_year_raw.json", srv.base);
    let source = source_with(&url, None);
    let (first, second, third) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let prov = extract_source(&source, &settings(), first.path()).unwrap();
    let kept = first.path().join(&prov.raw_file["raw/".len()..]);
    let earlier = RawCopy {
        path: kept.clone(),
        sha256: prov.sha256.clone(),
        size: prov.size_bytes,
    };
    let (again, reused) =
        extract_source_reusing(&source, &settings(), second.path(), Some(&earlier)).unwrap();
    let linked = second.path().join(&again.raw_file["raw/".len()..]);
    assert!(reused);
    assert_eq!(
        (&again.sha256, again.size_bytes),
        (&prov.sha256, prov.size_bytes)
    );
    assert_eq!(
        std::fs::metadata(&linked).unwrap().ino(),
        std::fs::metadata(&kept).unwrap().ino()
    );
    assert_eq!(again.read_from, "url");
    // An earlier copy of the same size with other bytes (its own checksum): the body is
    // written and hashed as fetched.
    let mut other = std::fs::read(&kept).unwrap();
    other[0] ^= 1;
    let other_path = third.path().join("other.json");
    std::fs::write(&other_path, &other).unwrap();
    let different = RawCopy {
        path: other_path.clone(),
        sha256: sha256_hex(&other),
        size: other.len() as u64,
    };
    let raw = third.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let (fresh, reused) =
        extract_source_reusing(&source, &settings(), &raw, Some(&different)).unwrap();
    assert!(!reused);
    assert_eq!(fresh.sha256, prov.sha256);
    let written = raw.join(&fresh.raw_file["raw/".len()..]);
    assert_ne!(
        std::fs::metadata(&written).unwrap().ino(),
        std::fs::metadata(&other_path).unwrap().ino()
    );
    assert_eq!(
        std::fs::read(&written).unwrap(),
        std::fs::read(&kept).unwrap()
    );
}

#[test]
fn not_found_fails_at_once_naming_the_url() {
    let srv = serve();
    let url = format!("{}/nope.json", srv.base);
    let err = fetch_source(&source_with(&url, None), &settings())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("GET {url} failed: HTTP status 404")),
        "{err}"
    );
    assert!(err.contains("no mirror is configured"), "{err}");
    assert_eq!(srv.hits.load(Ordering::SeqCst), 1, "a 404 is not retried");
}

#[test]
fn server_errors_are_retried_then_the_mirror_is_used_and_recorded() {
    let srv = serve();
    let url = format!("{}/500", srv.base);
    let fetched = fetch_source(
        &source_with(&url, Some("imf_weo_2024oct/ngdpd_by_year_raw.json")),
        &settings(),
    )
    .unwrap();
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        3,
        "one try and two retries"
    );
    assert_eq!(fetched.read_from, "mirror");
    let reason = fetched.fallback_reason.unwrap();
    assert!(
        reason.contains("HTTP status 500 (after 3 attempts)"),
        "{reason}"
    );
}

#[test]
fn a_stalled_server_times_out() {
    let srv = serve();
    let url = format!("{}/stall", srv.base);
    let mut s = settings();
    s.retries = 0;
    let started = std::time::Instant::now();
    let err = fetch_source(&source_with(&url, None), &s)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&url) && err.to_lowercase().contains("timeout"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn a_truncated_body_is_an_error_not_data() {
    let srv = serve();
    let url = format!("{}/truncated", srv.base);
    let mut s = settings();
    s.retries = 0;
    let err = fetch_source(&source_with(&url, None), &s)
        .unwrap_err()
        .to_string();
    assert!(err.contains("could not be read in full"), "{err}");
}
