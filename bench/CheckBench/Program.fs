/// Check time of the whole checker (parse + resolve + evaluate + shape-check + train settings) on a generated
/// program of about 10,000 lines: many `let` functions and networks that use them.
/// Usage: dotnet run --project bench/CheckBench -c Release [-- lines runs]
module Nn.CheckBench.Program

open System
open System.Diagnostics
open System.IO
open Nn.Compiler

/// A program of `lines` lines: layer functions (4 lines each), networks using them (3 lines each) and one train block.
let generate (lines: int) =
    let sb = Text.StringBuilder()
    let fns = lines / 2 / 4
    for i in 1 .. fns do
        let body = "    let h = x |> dense units |> relu\n"
        let block =
            sprintf "/// Block %d.\nlet block%d units (x: [n, k]) =\n%s    h |> dense %d |> tanh\n" i i body (4 + i % 5)
        sb.Append(block) |> ignore
    let nets = (lines - fns * 4 - 8) / 3
    for i in 1 .. nets do
        let f = 1 + i % fns
        let net =
            sprintf "network net%d (x: [n, 16]) : [n, %d] =\n    x |> block%d 32 |> dropout 0.1\n\n" i (4 + f % 5) f
        sb.Append(net) |> ignore
    sb.Append("train net1 {\n    data = rows [ [0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0; 0], [0] ]\n")
      .Append("    loss = mse\n")
      .Append("    optimizer = adam { lr = 1e-3 }\n    batch = 8\n    epochs = 1\n}\n") |> ignore
    sb.ToString()

[<EntryPoint>]
let main argv =
    let lines = if argv.Length > 0 then int argv[0] else 10_000
    let runs = if argv.Length > 1 then int argv[1] else 7
    let text = generate lines
    let file = Path.Combine(Path.GetTempPath(), "checkbench.nn")
    let check () =
        match Compile.compileText file text with
        | Ok c -> c.Networks.Length
        | Error ds -> failwithf "the generated program does not check: %s" ds.Head.Message
    let nets = check () // warm-up (JIT, prelude)
    let times =
        [ for _ in 1 .. runs ->
              GC.Collect()
              let sw = Stopwatch.StartNew()
              check () |> ignore
              sw.Elapsed.TotalMilliseconds ]
        |> List.sort
    let load = try File.ReadAllText("/proc/loadavg").Trim() with _ -> "n/a"
    printfn "check: %d lines, %d networks, %d runs" (text.Split('\n').Length - 1) nets runs
    printfn "  median %.0f ms, min %.0f ms, max %.0f ms" times[times.Length / 2] times.Head (List.last times)
    printfn "  /proc/loadavg: %s (cores: %d)" load Environment.ProcessorCount
    0
