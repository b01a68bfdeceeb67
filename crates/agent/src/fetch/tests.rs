use super::*;

fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // set_path refuses `..`; write the raw name so hostile archives can be built.
    let name = &mut h.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let h = header(path, tar::EntryType::Regular, data.len() as u64);
    b.append(&h, data).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &str, kind: tar::EntryType) {
    let mut h = header(path, kind, 0);
    h.set_link_name(target).unwrap();
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
}

struct Dirs {
    _t: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn dirs() -> Dirs {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("sandbox");
    let outside = t.path().join("outside");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&outside).unwrap();
    Dirs {
        _t: t,
        root,
        outside,
    }
}

#[test]
fn extracts_files_dirs_and_links_inside() {
    let d = dirs();
    let t = tar_with(|b| {
        file(b, "app/bin/run.sh", b"#!/bin/sh\necho hi\n");
        link(b, "app/run", "bin/run.sh", tar::EntryType::Symlink);
        link(b, "app/hard", "app/bin/run.sh", tar::EntryType::Link);
    });
    extract_tar(&t[..], &d.root).unwrap();
    assert_eq!(
        fs::read_to_string(d.root.join("app/bin/run.sh")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
    assert_eq!(
        fs::read_link(d.root.join("app/run")).unwrap(),
        PathBuf::from("bin/run.sh")
    );
    assert_eq!(
        fs::read_to_string(d.root.join("app/hard")).unwrap(),
        "#!/bin/sh\necho hi\n"
    );
}

#[test]
fn hostile_archives_are_refused_and_nothing_outside_changes() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("dotdot", tar_with(|b| file(b, "../outside/evil", b"x"))),
        (
            "nested dotdot",
            tar_with(|b| file(b, "a/../../outside/evil", b"x")),
        ),
        (
            "absolute",
            tar_with(|b| file(b, "/tmp/dcos-fetch-evil-abs", b"x")),
        ),
        (
            "write through symlink",
            tar_with(|b| {
                link(b, "l", "../outside", tar::EntryType::Symlink);
                file(b, "l/evil", b"x");
            }),
        ),
        (
            "overwrite a symlink",
            tar_with(|b| {
                link(b, "f", "../outside/evil", tar::EntryType::Symlink);
                file(b, "f", b"x");
            }),
        ),
        (
            "hard link out",
            tar_with(|b| link(b, "h", "../outside/secret", tar::EntryType::Link)),
        ),
        (
            "device",
            tar_with(|b| {
                let h = header("dev", tar::EntryType::Char, 0);
                b.append(&h, &[][..]).unwrap();
            }),
        ),
    ];
    for (what, t) in cases {
        let d = dirs();
        fs::write(d.outside.join("secret"), "s").unwrap();
        let r = extract_tar(&t[..], &d.root);
        assert!(r.is_err(), "{what} was accepted");
        let outside: Vec<_> = fs::read_dir(&d.outside)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(outside, vec![std::ffi::OsString::from("secret")], "{what}");
        assert_eq!(
            fs::read_to_string(d.outside.join("secret")).unwrap(),
            "s",
            "{what}"
        );
    }
    assert!(!Path::new("/tmp/dcos-fetch-evil-abs").exists());
}

#[test]
fn fetch_entries_are_validated() {
    let ok = parse(&[serde_json::json!({"uri": "https://example.com/a/app.tgz?x=1"})]).unwrap();
    assert_eq!(target_name(&ok[0]).as_deref(), Some("app.tgz"));
    assert!(ok[0].extract);
    assert!(parse(&[serde_json::json!({"uri": "ftp://x/y"})]).is_err());
    assert!(parse(&[serde_json::json!({"uri": "http://x/"})]).is_err());
    assert!(parse(&[serde_json::json!({"uri": "http://x/a", "outputFile": "../a"})]).is_err());
    assert!(parse(&[serde_json::json!({"url": "http://x/a"})]).is_err());
}

#[tokio::test]
async fn fetches_file_uris_extracts_and_marks_executable() {
    let d = dirs();
    let t = tar_with(|b| file(b, "data/hello.txt", b"hello"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&t).unwrap();
    fs::write(d.outside.join("bundle.tgz"), gz.finish().unwrap()).unwrap();
    fs::write(d.outside.join("tool"), "#!/bin/sh\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"plain").unwrap();
    fs::write(d.outside.join("notes.txt.gz"), gz.finish().unwrap()).unwrap();
    let uris = parse(&[
        serde_json::json!({"uri": format!("file://{}/bundle.tgz", d.outside.display())}),
        serde_json::json!({"uri": format!("{}/tool", d.outside.display()), "executable": true}),
        serde_json::json!({"uri": format!("file://{}/notes.txt.gz", d.outside.display())}),
    ])
    .unwrap();
    fetch_all(&reqwest::Client::new(), &uris, &d.root)
        .await
        .unwrap();
    assert_eq!(
        fs::read_to_string(d.root.join("data/hello.txt")).unwrap(),
        "hello"
    );
    assert_eq!(
        fs::read_to_string(d.root.join("notes.txt")).unwrap(),
        "plain"
    );
    let mode = fs::metadata(d.root.join("tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let missing = parse(&[serde_json::json!({"uri": "file:///nonexistent/x"})]).unwrap();
    let e = fetch_all(&reqwest::Client::new(), &missing, &d.root)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("failed to fetch 'file:///nonexistent/x'"),
        "{e}"
    );
}
