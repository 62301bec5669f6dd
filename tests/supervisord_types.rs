//! supervisord's value types, differentially: supervisor 4.3.0's own datatypes.py is run
//! on the inputs of `tests/peers/supervisord_types.py`, and what it returns or raises must
//! be exactly the table the unit tests in `src/config/supervisord/types/tests.rs` hold
//! (so those unit tests check our reading against the reference, and this test checks
//! that the table is the reference's).

mod common;
use common::*;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn the_unit_test_table_is_what_supervisor_4_3_0_says() {
    let Some(bin) = supervisor_bin("the_unit_test_table_is_what_supervisor_4_3_0_says") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated =
        run(Command::new(bin.join("python")).arg(root.join("tests/peers/supervisord_types.py")));
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let mut rustfmt = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt (installed with the toolchain)");
    rustfmt
        .stdin
        .take()
        .expect("stdin")
        .write_all(&generated.stdout)
        .expect("write to rustfmt");
    let formatted = rustfmt.wait_with_output().expect("rustfmt output");
    assert!(formatted.status.success());
    let committed = std::fs::read_to_string(root.join("src/config/supervisord/types/tests.rs"))
        .expect("the committed table");
    assert_eq!(
        String::from_utf8_lossy(&formatted.stdout),
        committed,
        "regenerate the table: see tests/peers/supervisord_types.py"
    );
}
