/// Inference speed peer (issue #22 point 5): nn's in-process forward (the fused executor, one thread, as
/// `nn predict --threads 1` runs it) against ONNX Runtime's on the same exported model (one thread:
/// IntraOpNumThreads = InterOpNumThreads = 1, graph optimizations on), side by side in one process. Each round times
/// nn then ONNX Runtime (A B A B ...) on the same input, as many calls as fill ~0.2 s each; the table gives the medians
/// over the rounds, wall and CPU time (the process's, so a thread of either runtime working beside the caller shows).
/// Usage: dotnet run --project bench/OnnxBench -c Release [-- rounds]
module Nn.OnnxBench.Program

open System
open System.Diagnostics
open System.IO
open System.Collections.Generic
open Microsoft.ML.OnnxRuntime
open Microsoft.ML.OnnxRuntime.Tensors
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Compiler

/// The repository root (the folder holding Dsl.sln) above the working folder or the binary.
let private root =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Dsl.sln not found"
        elif File.Exists(Path.Combine(d.FullName, "Dsl.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo(Environment.CurrentDirectory))

/// Seconds of wall and CPU time per call of `f`, over `calls` calls.
let private time (calls: int) (f: unit -> unit) =
    let p = Process.GetCurrentProcess()
    p.Refresh()
    let cpu0 = p.TotalProcessorTime
    let sw = Stopwatch.StartNew()
    for _ in 1..calls do f ()
    let wall = sw.Elapsed.TotalSeconds
    p.Refresh()
    wall / float calls, (p.TotalProcessorTime - cpu0).TotalSeconds / float calls

/// Calls that fill about 0.2 s.
let private callsFor (f: unit -> unit) =
    f ()
    let sw = Stopwatch.StartNew()
    let mutable n = 0
    while sw.Elapsed.TotalSeconds < 0.05 do
        f ()
        n <- n + 1
    max 1 (int (float n * 4.0))

let private median (xs: float list) =
    let s = List.sort xs
    let n = s.Length
    if n % 2 = 1 then s[n / 2] else (s[n / 2 - 1] + s[n / 2]) / 2.0

/// One example network: its executor (nn) and an ONNX Runtime session on its exported model, with the same weights.
let private contenders (file: string) =
    let c = match Compile.compileFile (Path.Combine(root, "examples", file)) with Ok c -> c | Error _ -> failwith file
    let net = c.Networks.Head
    let graphs = Export.graphsOf c net
    let values = Initializers.ForGraph(graphs.Train, 7UL)
    let model = Export.onnxOf net graphs values Export.noInfo Export.defaultOpset
    let exec = Nn.Runtime.Executors.StepExecutor.Create(graphs, values, ExecutorOptions(Engine = "fused", Threads = 1))
    let options = new SessionOptions(IntraOpNumThreads = 1, InterOpNumThreads = 1)
    options.GraphOptimizationLevel <- GraphOptimizationLevel.ORT_ENABLE_ALL
    let session = new InferenceSession(model, options)
    let input = (Seq.head graphs.Predict.Inputs).Name
    net, exec, session, input

[<EntryPoint>]
let main argv =
    let rounds = if argv.Length > 0 then int argv[0] else 7
    Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads <- 1
    printfn "nn vs ONNX Runtime %s, forward of the same model, 1 thread, %d rounds (A B paired), medians"
        (typeof<InferenceSession>.Assembly.GetName().Version.ToString()) rounds
    printfn "%-10s %6s %12s %12s %12s %12s %8s" "model" "batch" "nn wall" "ORT wall" "nn CPU" "ORT CPU" "nn/ORT"
    for file in [ "mnist_mlp.nn"; "lenet.nn" ] do
        let _, exec, session, input = contenders file
        let rng = Random 1
        for batch in [ 1; 256 ] do
            let x = HostTensor([| batch; 28; 28 |], Array.init (batch * 784) (fun _ -> float32 (rng.Next 256)))
            let feeds = [ NamedOnnxValue.CreateFromTensor(input, DenseTensor<float32>(x.Data, x.Shape)) ]
            let xs = ResizeArray [ x ]
            let nnCall () = exec.Predict xs |> ignore
            let ortCall () =
                use r = session.Run feeds
                ()
            // the same outputs, or the comparison means nothing
            let a = exec.Predict xs
            let b = (use r = session.Run feeds in (Seq.head r).AsTensor<float32>() |> Seq.toArray)
            let d = Array.map2 (fun (p: float32) q -> abs (p - q) / max 1f (abs q)) a.Data b |> Array.max
            if d > 1e-4f then failwithf "%s batch %d: nn and ONNX Runtime differ by %g" file batch d
            let nnCalls, ortCalls = callsFor nnCall, callsFor ortCall
            let results =
                [ for _ in 1..rounds -> time nnCalls nnCall, time ortCalls ortCall ]
            let nnWall = median [ for (w, _), _ in results -> w ]
            let ortWall = median [ for _, (w, _) in results -> w ]
            let nnCpu = median [ for (_, c), _ in results -> c ]
            let ortCpu = median [ for _, (_, c) in results -> c ]
            let ms v = sprintf "%.4f ms" (v * 1000.0)
            printfn "%-10s %6d %12s %12s %12s %12s %8.2f"
                (Path.GetFileNameWithoutExtension file) batch (ms nnWall) (ms ortWall) (ms nnCpu) (ms ortCpu)
                (nnWall / ortWall)
    0
