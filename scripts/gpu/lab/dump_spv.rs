//! LAB (never merged; prepare.sh copies it into shaders/tests of a scratch tree): writes every
//! kernel variant's SPIR-V and a manifest of its bindings and
//! entry points to $SPV_OUT, for pipestats.c on the GPU machine.
use naga::back::spv;
use naga::valid::{Capabilities, ValidationFlags, Validator};
use std::fmt::Write;
use wick_shaders::Variant;

#[test]
fn dump_spv() {
    let Ok(out) = std::env::var("SPV_OUT") else { return };
    std::fs::create_dir_all(&out).unwrap();
    let mut manifest = String::new();
    for (n, v) in Variant::all().into_iter().enumerate() {
        let src = v.source();
        let module = naga::front::wgsl::parse_str(&src).unwrap();
        let info = Validator::new(ValidationFlags::all(), Capabilities::all()).validate(&module).unwrap();
        let options = spv::Options { lang_version: (1, 5), ..Default::default() };
        let words = spv::write_vec(&module, &info, &options, None).unwrap();
        let file = format!("{n}.spv");
        std::fs::write(format!("{out}/{file}"), bytemuck_cast(&words)).unwrap();
        let mut binds = Vec::new();
        for (_, g) in module.global_variables.iter() {
            if let Some(b) = &g.binding {
                let kind = match g.space { naga::AddressSpace::Uniform => 'u', _ => 's' };
                binds.push((b.binding, kind));
            }
        }
        binds.sort();
        let b: Vec<String> = binds.iter().map(|(i, k)| format!("{i}{k}")).collect();
        for ep in v.family.entry_points() {
            writeln!(manifest, "{file} {ep} {} {}", b.join(","), format!("{v}").replace(' ', "_")).unwrap();
        }
    }
    std::fs::write(format!("{out}/manifest.txt"), manifest).unwrap();
}

fn bytemuck_cast(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}
