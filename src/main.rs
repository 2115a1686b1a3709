fn main() -> std::process::ExitCode {
    strexforce::cli::main()
}
