//! Every kernel variant parses, validates with exactly the capabilities it declares, and
//! translates to MSL (Metal) and SPIR-V (Vulkan), so Metal breakage shows up on Linux.

use naga::back::{msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use wick_shaders::{CoopSize, Variant};

fn capabilities(v: &Variant) -> Capabilities {
    // pack2x16float and friends: a downlevel flag every Vulkan and Metal adapter has.
    let mut caps = Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    if v.subgroups {
        caps |= Capabilities::SUBGROUP;
    }
    if v.family.cooperative() {
        caps |= Capabilities::SUBGROUP
            | Capabilities::SHADER_FLOAT16
            | Capabilities::COOPERATIVE_MATRIX;
    }
    caps
}

fn validate(v: &Variant) -> (naga::Module, naga::valid::ModuleInfo) {
    let src = v.source();
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{v}: WGSL parse error:\n{}", e.emit_to_string(&src)));
    let info = Validator::new(ValidationFlags::all(), capabilities(v))
        .validate(&module)
        .unwrap_or_else(|e| panic!("{v}: validation error:\n{}", e.emit_to_string(&src)));
    (module, info)
}

#[test]
fn every_variant_translates_to_msl() {
    // Metal's simdgroup matrices are 8x8 only: the 16x16 variants are Vulkan's.
    let metal = |v: &Variant| v.family.coop_size() != Some(CoopSize::Sixteen);
    for v in Variant::all().into_iter().filter(metal) {
        let (module, info) = validate(&v);
        let options = msl::Options {
            lang_version: (2, 4),
            ..Default::default()
        };
        let (msl_src, _) =
            msl::write_string(&module, &info, &options, &msl::PipelineOptions::default())
                .unwrap_or_else(|e| panic!("{v}: MSL error: {e}"));
        for ep in v.family.entry_points() {
            assert!(
                msl_src.contains(ep),
                "{v}: entry point {ep} missing from MSL"
            );
        }
    }
}

#[test]
fn every_variant_translates_to_spirv() {
    for v in Variant::all() {
        let (module, info) = validate(&v);
        let options = spv::Options {
            lang_version: (1, 3),
            ..Default::default()
        };
        let words = spv::write_vec(&module, &info, &options, None)
            .unwrap_or_else(|e| panic!("{v}: SPIR-V error: {e}"));
        assert_eq!(words[0], 0x0723_0203, "{v}: not a SPIR-V module");
    }
}

#[test]
fn variants_without_features_validate_without_capabilities() {
    for v in Variant::all()
        .into_iter()
        .filter(|v| !v.subgroups && !v.family.cooperative())
    {
        let src = v.source();
        assert!(
            !src.contains("subgroupAdd") && !src.contains("subgroupMax"),
            "{v}: fallback variant uses subgroup operations"
        );
        assert!(!src.contains("f16>"), "{v}: fallback variant uses f16");
    }
}

#[test]
fn labels_are_unique() {
    let all = Variant::all();
    let mut labels: Vec<String> = all.iter().map(|v| v.to_string()).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), all.len());
    assert!(labels.contains(&"matvec.q4_K.sg".to_string()));
    assert!(labels.contains(&"attention.sg".to_string()));
    assert!(labels.contains(&"attention_prefill.sg".to_string()));
}

/// Every entry point runs the threads per workgroup the runtime sizes its dispatches for.
#[test]
fn workgroup_sizes_are_the_familys() {
    for v in Variant::all() {
        let (module, _) = validate(&v);
        for ep in &module.entry_points {
            assert_eq!(
                ep.workgroup_size,
                [v.family.workgroup_size(), 1, 1],
                "{v}: entry point {}",
                ep.name
            );
        }
    }
}

/// Every variant's shared memory fits what adapters give it: its cooperative side's budget
/// (which `gpu.rs` checks against the adapter) or WebGPU's default 16 KB.
#[test]
fn workgroup_storage_fits() {
    for v in Variant::all() {
        let (module, _) = validate(&v);
        let bytes: u32 = module
            .global_variables
            .iter()
            .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
            .map(|(_, g)| module.types[g.ty].inner.size(module.to_ctx()))
            .sum();
        let budget = v
            .family
            .coop_size()
            .map_or(16 << 10, CoopSize::workgroup_storage);
        assert!(
            bytes <= budget,
            "{v}: {bytes} bytes of shared memory, budget {budget}"
        );
    }
}
