//! criterion benches live in benches/ (`cargo bench -p wick-benches`).
