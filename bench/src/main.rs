//! Times micro-gen's work in-process (no process start-up), so that `bench/bench.py` can compare it
//! with protoc called in-process. Prints one JSON object of medians in milliseconds.
//!
//! Usage: `micro-gen-bench OUT_DIR RUNS`

use std::path::PathBuf;
use std::time::Instant;

use micro_gen::config::SdkOptions;
use micro_gen::lang::Language;
use micro_gen::load::{ProtoSource, load, load_encoded};
use micro_gen::model::Model;
use micro_gen::render::TemplateSet;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().expect("usage: micro-gen-bench OUT_DIR RUNS"));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(60);
    let descriptor = median_ms(runs, || {
        let bytes = load_encoded(&ProtoSource::Bundled).expect("core protos compile");
        std::fs::write(out.join("micro.binpb"), bytes).expect("write descriptor set");
    });
    let sdk_all = median_ms(runs, || {
        let model = Model::build(&load(&ProtoSource::Bundled).expect("core protos compile")).expect("model");
        for language in Language::ALL {
            let files =
                micro_gen::generate(&model, language, &SdkOptions::default(), &TemplateSet::embedded(language.name()))
                    .expect("generate");
            micro_gen::output::write(&out.join(language.name()), &files).expect("write");
        }
    });
    println!("{}", serde_json::json!({ "descriptor_ms": descriptor, "sdk_all_ms": sdk_all }));
}
