/// Inference speed peer (issue #22 point 5): nn's in-process forward (the fused executor, one thread, as
/// `nn predict --threads 1` runs it) against ONNX Runtime's on the same exported model (one thread:
/// IntraOpNumThreads = InterOpNumThreads = 1, graph optimizations on), side by side in one process. Each round times
/// nn then ONNX Runtime (A B A B ...) on the same input, as many calls as fill ~0.2 s each; the table gives the medians
/// over the rounds, wall and CPU time (the process's, so a thread of either runtime working beside the caller shows).
/// ONNX Runtime runs twice in each round: `session.Run` with NamedOnnxValue feeds (ORT), and its leanest call,
/// OrtValues over the arrays with the output preallocated (ORTv). A fourth contender in the same rounds, `before`, is
/// nn with the one-row product paths off (GemmVector.Off), as it was before issue #22 point 5; its outputs must equal
/// nn's bit for bit.
/// Usage: dotnet run --project bench/OnnxBench -c Release [-- rounds | --profile]
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

/// The one-row paths off (true) or on (false) on this thread: nn as it was before issue #22 point 5, run in the same
/// rounds as a third contender (`before CPU`: its CPU time, then its ratio to ONNX Runtime's).
let private before off = Nn.Runtime.Kernels.GemmVector.Off <- off

/// `--profile`: where one batch's forward goes, kernel by kernel of the prediction plan (microseconds per call,
/// the sum over many calls; the stopwatch between kernels adds ~20 ns each).
let private profile () =
    for file in [ "mnist_mlp.nn"; "lenet.nn" ] do
        let _, exec, _, _ = contenders file
        let fused = exec :?> Nn.Runtime.Engine.FusedExecutor
        for batch in [ 1; 256 ] do
            let x = HostTensor([| batch; 28; 28 |], Array.init (batch * 784) (fun i -> float32 (i % 256)))
            let calls = if batch = 1 then 20000 else 200
            let run off =
                before off
                try fused.ProfilePredict(x, calls) finally before false
            run false |> ignore
            run true |> ignore
            // before and after alternately, the sums of 3 each
            let rs = [ for _ in 1..3 -> run true, run false ]
            let t0 = Array.init (fst rs.Head).Length (fun k -> rs |> List.sumBy (fun (b, _) -> b[k]))
            let t1 = Array.init t0.Length (fun k -> rs |> List.sumBy (fun (_, a) -> a[k]))
            let us v = v * 1e6 / float (3 * calls)
            // the whole call (binding look-up, pointing the sources, the output's copy) against its kernels
            let xs = ResizeArray [ x ]
            let whole = Stopwatch.StartNew()
            for _ in 1 .. 3 * calls do fused.Predict xs |> ignore
            printfn "%s batch %d: %.2f µs per call before, %.2f after (columns: before, after); Predict %.2f µs"
                (Path.GetFileNameWithoutExtension file) batch (us (Array.sum t0)) (us (Array.sum t1))
                (us whole.Elapsed.TotalSeconds)
            for k in 0 .. t0.Length - 1 do
                let d = fused.PredictPlan.Kernels[k].Describe()
                let d = if d.Length > 80 then d[..79] + "…" else d
                printfn "  %8.2f %8.2f µs  k%d %s" (us t0[k]) (us t1[k]) k d

[<EntryPoint>]
let main argv =
    Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads <- 1
    if argv |> Array.contains "--profile" then profile (); exit 0
    let rounds = if argv.Length > 0 then int argv[0] else 7
    printfn "nn vs ONNX Runtime %s, forward of the same model, 1 thread, %d rounds (A B paired), medians, ms"
        (typeof<InferenceSession>.Assembly.GetName().Version.ToString()) rounds
    printfn "%-10s %6s %10s %10s | %10s %10s %10s %10s | %7s %7s %7s" "model" "batch" "nn wall" "ORT wall"
        "nn CPU" "ORT CPU" "ORTv CPU" "bef. CPU" "nn/ORT" "nn/ORTv" "bef/ORT"
    for file in [ "mnist_mlp.nn"; "lenet.nn" ] do
        let _, exec, session, input = contenders file
        let rng = Random 1
        for batch in [ 1; 256 ] do
            let x = HostTensor([| batch; 28; 28 |], Array.init (batch * 784) (fun _ -> float32 (rng.Next 256)))
            let feeds = [ NamedOnnxValue.CreateFromTensor(input, DenseTensor<float32>(x.Data, x.Shape)) ]
            let xs = ResizeArray [ x ]
            let nnCall () = exec.Predict xs |> ignore
            let beforeCall () =
                before true
                try exec.Predict xs |> ignore finally before false
            let ortCall () =
                use r = session.Run feeds
                ()
            // the same outputs, or the comparison means nothing
            let a = exec.Predict xs
            let b, outShape =
                use r = session.Run feeds
                let t = (Seq.head r).AsTensor<float32>()
                Seq.toArray t, t.Dimensions.ToArray() |> Array.map int64
            let d = Array.map2 (fun (p: float32) q -> abs (p - q) / max 1f (abs q)) a.Data b |> Array.max
            if d > 1e-4f then failwithf "%s batch %d: nn and ONNX Runtime differ by %g" file batch d
            let before0 = (before true; exec.Predict xs)
            before false
            if before0.Data <> a.Data then failwithf "%s batch %d: the outputs before the changes differ" file batch
            // ONNX Runtime's leanest call: OrtValues over the arrays, the output preallocated (ORTv)
            let outName = Seq.head session.OutputMetadata.Keys
            let outArr: float32[] = Array.zeroCreate b.Length
            use inValue = OrtValue.CreateTensorValueFromMemory<float32>(x.Data, x.Shape |> Array.map int64)
            use outValue = OrtValue.CreateTensorValueFromMemory<float32>(outArr, outShape)
            use runOptions = new RunOptions()
            let inNames, inValues, outNames, outValues = [| input |], [| inValue |], [| outName |], [| outValue |]
            let ortValueCall () = session.Run(runOptions, inNames, inValues, outNames, outValues)
            ortValueCall ()
            if outArr <> b then failwithf "%s batch %d: ONNX Runtime's two calls differ" file batch
            let calls = [| nnCall; ortCall; ortValueCall; beforeCall |]
            let counts = calls |> Array.map callsFor
            let results = [ for _ in 1..rounds -> Array.map2 time counts calls ]
            let wall i = median [ for r in results -> fst r[i] ]
            let cpu i = median [ for r in results -> snd r[i] ]
            let ms v = sprintf "%.4f" (v * 1000.0)
            printfn "%-10s %6d %10s %10s | %10s %10s %10s %10s | %7.2f %7.2f %7.2f"
                (Path.GetFileNameWithoutExtension file) batch (ms (wall 0)) (ms (wall 1))
                (ms (cpu 0)) (ms (cpu 1)) (ms (cpu 2)) (ms (cpu 3)) (cpu 0 / cpu 1) (cpu 0 / cpu 2) (cpu 3 / cpu 1)
    0
