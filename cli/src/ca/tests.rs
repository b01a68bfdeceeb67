use super::*;

/// A tiny self-made "certificate" body: the parser checks PEM framing and base64, not X.509.
const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAEC\nAwQF\n-----END CERTIFICATE-----\n";

#[test]
fn fingerprint_is_sha256_of_the_der_in_colon_hex() {
    let b = CaBundle::parse(PEM, "t", "hint").unwrap();
    let fps = b.fingerprints();
    assert_eq!(fps.len(), 1);
    // sha256 of the bytes 00 01 02 03 04 05
    assert_eq!(
        fps[0],
        "17:E8:8D:B1:87:AF:D6:2C:16:E5:DE:BF:3E:65:27:CD:00:6B:C0:12:BC:90:B5:1A:81:0C:D8:0C:2D:51:1F:43"
    );
    let two = format!("{PEM}junk between\n{PEM}");
    assert_eq!(
        CaBundle::parse(&two, "t", "h")
            .unwrap()
            .fingerprints()
            .len(),
        2
    );
}

#[test]
fn bad_pem_is_named() {
    let e = CaBundle::parse("hello", "f.pem", "give a PEM file")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "f.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----); give a PEM file"
    );
    let e = CaBundle::parse(
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
        "f",
        "h",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("certificate 1 is not valid PEM"), "{e}");
    let e = CaBundle::parse("-----BEGIN CERTIFICATE-----\nAAEC\n", "f", "h")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid PEM"), "{e}");
}
