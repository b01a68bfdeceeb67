use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("work/slaves");
    let sb = root.join("a1/frameworks/f/executors/t/runs/r");
    std::fs::create_dir_all(&sb).unwrap();
    std::fs::write(sb.join("stdout"), "hello world\n").unwrap();
    let outside = dir.path().join("work/agent-secret");
    std::fs::write(&outside, "token").unwrap();
    Fixture {
        root: root.canonicalize().unwrap(),
        outside: outside.canonicalize().unwrap(),
        _dir: dir,
    }
}

#[test]
fn reads_ranges_and_size() {
    let f = fixture();
    let p = f.root.join("a1/frameworks/f/executors/t/runs/r/stdout");
    let s = p.to_str().unwrap();
    let c = confine(&f.root, s).unwrap();
    assert_eq!(
        read(&c, s, Some(-1), None).unwrap(),
        ReadResult {
            data: String::new(),
            offset: 12
        }
    );
    assert_eq!(read(&c, s, Some(6), Some(5)).unwrap().data, "world");
    assert_eq!(read(&c, s, Some(0), None).unwrap().data, "hello world\n");
    assert_eq!(read(&c, s, Some(100), Some(5)).unwrap().data, "");
}

#[test]
fn a_cut_multibyte_character_waits_for_the_next_read() {
    let f = fixture();
    let p = f.root.join("a1/utf8");
    std::fs::write(&p, "aé").unwrap(); // 'é' is 2 bytes
    let s = p.to_str().unwrap();
    let r = read(&p, s, Some(0), Some(2)).unwrap();
    assert_eq!(r.data, "a");
    assert_eq!(read(&p, s, Some(1), Some(2)).unwrap().data, "é");
}

#[test]
fn refuses_paths_outside_the_sandboxes() {
    let f = fixture();
    let dotdot = format!("{}/../agent-secret", f.root.display());
    assert!(matches!(
        confine(&f.root, &dotdot),
        Err(FilesError::Escapes(_))
    ));
    assert!(matches!(
        confine(&f.root, "/etc/passwd"),
        Err(FilesError::Escapes(_))
    ));
    assert!(matches!(
        confine(&f.root, "../agent-secret"),
        Err(FilesError::Escapes(_))
    ));
    // A symlink planted inside a sandbox pointing out of it.
    let link = f.root.join("a1/link");
    std::os::unix::fs::symlink(&f.outside, &link).unwrap();
    let e = confine(&f.root, link.to_str().unwrap()).unwrap_err();
    assert!(matches!(e, FilesError::Escapes(_)));
    assert_eq!(e.status(), 403);
    let missing = confine(&f.root, &format!("{}/nope", f.root.display())).unwrap_err();
    assert_eq!(missing.status(), 404);
    assert!(matches!(confine(&f.root, ""), Err(FilesError::MissingPath)));
}

#[test]
fn browses_with_mesos_fields() {
    let f = fixture();
    let d = f.root.join("a1/frameworks/f/executors/t/runs/r");
    std::fs::create_dir(d.join("sub")).unwrap();
    let entries = browse(&d, d.to_str().unwrap()).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].path.ends_with("/stdout"));
    assert_eq!(entries[0].size, 12);
    assert!(entries[0].mode.starts_with('-'));
    assert_eq!(entries[0].uid, "root");
    assert!(entries[1].mode.starts_with('d'));
    assert!(matches!(
        read(&d, "d", Some(0), None),
        Err(FilesError::IsDirectory(_))
    ));
}

#[test]
fn modes_look_like_ls() {
    assert_eq!(perm_bits(0o644), "rw-r--r--");
    assert_eq!(perm_bits(0o755), "rwxr-xr-x");
    assert_eq!(perm_bits(0o4755), "rwsr-xr-x");
    assert_eq!(perm_bits(0o1777), "rwxrwxrwt");
    assert_eq!(perm_bits(0o2644), "rw-r-Sr--");
}

#[test]
fn numbers_are_validated() {
    assert_eq!(parse_num("offset", Some("-1")).unwrap(), Some(-1));
    assert_eq!(parse_num("offset", None).unwrap(), None);
    assert!(parse_num("offset", Some("-2")).is_err());
    assert!(parse_num("length", Some("x")).is_err());
}

#[test]
fn data_length_always_equals_the_bytes_read() {
    let f = fixture();
    let p = f.root.join("a1/binary");
    // 'é' = C3 A9; a stray FF; then "ok".
    std::fs::write(&p, b"a\xc3\xa9\xffok").unwrap();
    let s = p.to_str().unwrap();
    let all = read(&p, s, Some(0), None).unwrap();
    assert_eq!(all.data, "aé?ok");
    assert_eq!(all.data.len(), 6);
    // Starting inside 'é': the continuation byte becomes one '?'.
    let mid = read(&p, s, Some(2), Some(2)).unwrap();
    assert_eq!(mid.data, "??");
    assert_eq!(to_text_same_length(b"\xff\xfe"), "??");
}
