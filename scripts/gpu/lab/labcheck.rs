//! LAB (never merged; copy it into shaders/tests to run): validates a lab body in place of
//! matmul_coop.wgsl for the matmul_coop16 variants through naga to SPIR-V:
//! `LAB_BODY=$PWD/scripts/gpu/lab/mm/NAME.wgsl cargo test --release -p wick-shaders --test labcheck`.
use naga::valid::{Capabilities, ValidationFlags, Validator};
use wick_shaders::Variant;

#[test]
fn labcheck() {
    let Ok(file) = std::env::var("LAB_BODY") else { return };
    let body = std::fs::read_to_string(&file).unwrap();
    let own = include_str!("../wgsl/matmul_coop.wgsl");
    let mut n = 0;
    for v in Variant::all() {
        let name = format!("{v}");
        if !name.starts_with("matmul_coop16") {
            continue;
        }
        let src = v.source().replace(own, &body);
        let module = match naga::front::wgsl::parse_str(&src) {
            Ok(m) => m,
            Err(e) => panic!("{name}: {}", e.emit_to_string(&src)),
        };
        let info = match Validator::new(ValidationFlags::all(), Capabilities::all()).validate(&module) {
            Ok(i) => i,
            Err(e) => panic!("{name}: {}", e.emit_to_string(&src)),
        };
        naga::back::spv::write_vec(&module, &info, &Default::default(), None).unwrap();
        n += 1;
    }
    eprintln!("{n} variants ok");
    assert!(n > 0);
}
