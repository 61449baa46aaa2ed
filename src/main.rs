//! The `harrow` binary: parse arguments, call the library, map the outcome to an exit code.

#![forbid(unsafe_code)]

fn main() {
    let code = harrow::cli::main_with_args(std::env::args_os());
    std::process::exit(code);
}
