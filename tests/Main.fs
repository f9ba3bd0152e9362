module Nn.Tests.Main

open Expecto
open Expecto.Impl

/// Runs every [<Tests>] value in the assembly, then prints the closing line itself
/// (outside Expecto's coloured output) so CI can read it.
[<EntryPoint>]
let main argv =
    let mutable passed = 0
    let mutable failed = 0
    let record (s: TestRunSummary) =
        passed <- s.passed.Length
        failed <- s.failed.Length + s.errored.Length
    let code = runTestsInAssemblyWithCLIArgs [ No_Spinner; Append_Summary_Handler(SummaryHandler record) ] argv
    System.Console.Out.Write("\n")
    printfn "Tests: %d passed, %d failed" passed failed
    if failed > 0 then 1 else code
