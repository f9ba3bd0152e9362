module Nn.Tests.Main

open System
open System.IO
open Expecto
open Expecto.Impl

/// Standard output with ANSI escape sequences (colours, cursor moves) left out: for logs and pipes, and when
/// NO_COLOR is set (https://no-color.org). Expecto colours its lines even when its output is a file.
type private PlainWriter(inner: TextWriter) =
    inherit TextWriter()
    // 0: text, 1: after ESC, 2: inside a CSI sequence (ESC [ ... final byte in @..~)
    let mutable state = 0
    override _.Encoding = inner.Encoding
    override _.Write(c: char) =
        match state with
        | 0 when c = '\u001b' -> state <- 1
        | 0 -> inner.Write c
        | 1 -> state <- (if c = '[' then 2 else 0)
        | _ -> if c >= '@' && c <= '~' then state <- 0
    override this.Write(s: string) =
        if not (isNull s) then
            for c in s do this.Write c
    override _.Flush() = inner.Flush()

/// Colour only on a terminal, and never when NO_COLOR is set.
let private plain =
    Console.IsOutputRedirected || not (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "NO_COLOR"))

/// Runs every [<Tests>] value in the assembly (or, with `--fuzz-long`, the long fuzz run), then prints the closing
/// line `Tests: N passed, N failed, N skipped` itself (outside Expecto's coloured output) so CI can read it. Expecto
/// prints the failures and its count line; the names of passed tests only with `--summary` (or `--debug`).
[<EntryPoint>]
let main argv =
    match List.ofArray argv with
    | "--fuzz-long" :: rest -> Nn.Tests.Fuzz.Harness.main rest // the long fuzz run (tests/Fuzz/README.md)
    | "--public-api" :: rest -> Nn.Tests.Compiler.PublicApi.report rest // public types and members per package
    | _ ->
        if plain then
            Console.SetOut(TextWriter.Synchronized(new PlainWriter(Console.Out)))
            Console.SetError(TextWriter.Synchronized(new PlainWriter(Console.Error)))
        let mutable passed = 0
        let mutable failed = 0
        let mutable skipped = 0
        let record (s: TestRunSummary) =
            passed <- s.passed.Length
            failed <- s.failed.Length + s.errored.Length
            skipped <- s.ignored.Length
        let colours = if plain then [ Colours 0 ] else []
        // a focused test (ftest, ftestList) left in by mistake would silently skip every other test: fail the run
        let config = [ No_Spinner; Fail_On_Focused_Tests; Append_Summary_Handler(SummaryHandler record) ] @ colours
        let code = runTestsInAssemblyWithCLIArgs config argv
        Console.Out.Write("\n")
        // skipped: tests that report themselves skipped (a CPU feature or a tool this machine lacks), never passed
        printfn "Tests: %d passed, %d failed, %d skipped" passed failed skipped
        Console.Out.Flush()
        if failed > 0 then 1 else code
