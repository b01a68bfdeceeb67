use super::*;

#[test]
fn last_lines_keeps_the_end_and_final_newline() {
    assert_eq!(last_lines("a\nb\nc\n", 2, false), "b\nc\n");
    assert_eq!(last_lines("a\nb\nc", 2, false), "b\nc");
    assert_eq!(last_lines("a\nb\n", 10, false), "a\nb\n");
    assert_eq!(last_lines("", 3, false), "");
    assert_eq!(last_lines("a\n", 0, false), "");
}

#[test]
fn a_cut_first_line_is_dropped() {
    assert_eq!(last_lines("rtial\nb\nc\n", 5, true), "b\nc\n");
}

#[test]
fn counting_lines() {
    assert_eq!(count_lines(""), 0);
    assert_eq!(count_lines("x"), 1);
    assert_eq!(count_lines("x\ny\n"), 2);
}
