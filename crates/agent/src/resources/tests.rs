use super::*;

#[test]
fn parses_full_resource_string() {
    let r = parse_resources("cpus:2;mem:2048;disk:10000;ports:[31000-32000]").unwrap();
    assert_eq!(r.cpus, Some(2.0));
    assert_eq!(r.mem, Some(2048.0));
    assert_eq!(r.disk, Some(10000.0));
    assert_eq!(r.gpus, None);
    assert_eq!(
        r.ports,
        Some(vec![PortRange {
            begin: 31000,
            end: 32000
        }])
    );
}

#[test]
fn parses_several_ranges_roles_and_spaces() {
    let r = parse_resources(" cpus(*):0.5 ; ports:[33000-33100, 31000-31010,8080] ;").unwrap();
    assert_eq!(r.cpus, Some(0.5));
    assert_eq!(
        r.ports.unwrap(),
        vec![
            PortRange {
                begin: 8080,
                end: 8080
            },
            PortRange {
                begin: 31000,
                end: 31010
            },
            PortRange {
                begin: 33000,
                end: 33100
            }
        ]
    );
}

#[test]
fn refuses_bad_resource_strings() {
    assert_eq!(
        parse_resources("cpus"),
        Err(ResourceError::NotPair("cpus".into()))
    );
    assert_eq!(
        parse_resources("cpu:2"),
        Err(ResourceError::Unknown("cpu".into()))
    );
    assert!(matches!(
        parse_resources("mem:-1"),
        Err(ResourceError::BadScalar { .. })
    ));
    assert!(matches!(
        parse_resources("mem:NaN"),
        Err(ResourceError::BadScalar { .. })
    ));
    assert!(matches!(
        parse_resources("ports:31000-32000"),
        Err(ResourceError::BadRanges(_))
    ));
    assert!(matches!(
        parse_resources("ports:[32000-31000]"),
        Err(ResourceError::BadRanges(_))
    ));
    assert!(matches!(
        parse_resources("ports:[1-10,5-20]"),
        Err(ResourceError::BadRanges(_))
    ));
    assert!(matches!(
        parse_resources("ports:[1-70000]"),
        Err(ResourceError::BadRanges(_))
    ));
    assert_eq!(
        parse_resources("cpus(web):2"),
        Err(ResourceError::Role("cpus(web):2".into()))
    );
    assert_eq!(
        parse_resources("cpus:1;cpus:2"),
        Err(ResourceError::Duplicate("cpus".into()))
    );
    assert!(matches!(
        parse_resources("gpus:1.5"),
        Err(ResourceError::BadScalar { .. })
    ));
}

#[test]
fn error_messages_name_the_problem() {
    let e = parse_resources("foo:1").unwrap_err().to_string();
    assert!(e.contains("foo") && e.contains("known: cpus"), "{e}");
}

#[test]
fn formats_ranges_like_mesos() {
    let r = parse_ranges("[31000-32000,33000-33001]").unwrap();
    assert_eq!(format_ranges(&r), "[31000-32000, 33000-33001]");
}

#[test]
fn parses_attributes() {
    let a = parse_attributes("rack:a; zone:z1").unwrap();
    assert_eq!(a.get("rack").map(String::as_str), Some("a"));
    assert_eq!(a.get("zone").map(String::as_str), Some("z1"));
    assert!(parse_attributes("rack").is_err());
    assert!(parse_attributes("rack:").is_err());
    assert_eq!(
        parse_attributes("rack:a;rack:b"),
        Err(ResourceError::DuplicateAttribute("rack".into()))
    );
}

#[test]
fn reserves_memory_and_disk_like_mesos() {
    assert_eq!(mem_after_reserve(8192.0), 7168.0);
    assert_eq!(mem_after_reserve(1000.0), 500.0);
    assert_eq!(disk_after_reserve(100_000.0), 94_880.0);
    assert_eq!(disk_after_reserve(4000.0), 2000.0);
    assert_eq!(
        meminfo_total_mb("MemTotal:       24683456 kB\nMemFree: 1 kB\n"),
        Some(24104.0)
    );
}

#[test]
fn detection_applies_overrides_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let r = detect(dir.path(), parse_resources("mem:100").unwrap());
    assert_eq!(r.mem, 100.0);
    assert!(r.cpus >= 1.0);
    assert!(r.disk > 0.0);
    assert_eq!(
        r.ports,
        vec![PortRange {
            begin: 31000,
            end: 32000
        }]
    );
}
