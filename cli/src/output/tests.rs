use super::*;

#[test]
fn columns_are_aligned_and_lines_have_no_trailing_blanks() {
    let mut t = Table::new(&["NAME", "ID", "STATE"]);
    t.row(["web", "web.1234", "TASK_RUNNING"]);
    t.row(["a-much-longer-name", "x", ""]);
    let s = t.render();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "NAME                ID        STATE");
    assert_eq!(lines[1], "web                 web.1234  TASK_RUNNING");
    assert_eq!(lines[2], "a-much-longer-name  x");
    assert!(s.lines().all(|l| !l.ends_with(' ')));
}

#[test]
fn short_rows_are_padded_and_newlines_flattened() {
    let mut t = Table::new(&["A", "B"]);
    t.row(["x\ny"]);
    assert_eq!(t.render(), "A    B\nx y\n");
}

#[test]
fn numbers_drop_useless_decimals() {
    assert_eq!(fmt_num(2.0), "2");
    assert_eq!(fmt_num(0.5), "0.5");
    assert_eq!(fmt_num(0.126), "0.13");
    assert_eq!(fmt_num(1024.0), "1024");
}
