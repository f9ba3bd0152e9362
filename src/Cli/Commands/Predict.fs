/// `nn predict FILE --weights W --input X`: run a trained network on new inputs.
module internal Nn.Cli.Commands.Predict

open System
open System.IO
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn predict FILE --weights W --input X.(npy|csv|idx) [--out Y.(csv|npy)] [--network NAME]
                  [--allow-nan] [--threads N] [--engine fused|reference]

Runs the network of FILE with the weights W (a .safetensors file, or a run folder: the weights its training ended
with, best.safetensors when early stopping restored an earlier epoch, else checkpoint.safetensors) on the rows of X
and prints a table of the outputs (the first 20 rows). A classifier (trained with softmaxCrossEntropy, crossEntropy,
or binaryCrossEntropy with one output) shows and writes the predicted class and the class probabilities instead of
raw outputs, named after the classes of the training data: softmax is applied to the scores of a softmaxCrossEntropy
network (unless the network ends in softmax); crossEntropy outputs are probabilities already; a binaryCrossEntropy
output p is the probability of the second class (1 − p of the first). The shape of X's rows is checked against the
network's input first. Rows holding NaN or infinite values are an error (NN0560) naming them. The rows run in
batches of 256, as Keras' predict batches them (each row's output does not depend on the others); an IDX file is
decoded batch by batch on another thread while the program compiles and the batches before run.
  --input X      .npy (any numeric dtype), .csv (with a header; the train block's feature columns when it reads
                 a CSV file, else every column), or IDX (.idx, *-ubyte, optionally .gz). A network with several
                 inputs takes a CSV file (cut into the train block's feature lists) or one .npy file per input,
                 in order, separated by commas: --input a.npy,b.npy
  --out Y        write every row: .csv (one column per output, or per class with its probability, plus
                 `predicted` for classifiers) or .npy (the outputs, or a classifier's probabilities)
  --network NAME the network to run (default: the one of the first train block, or the only one)
  --threads N    use at most N threads
  --engine E     the engine (default: fused); reference runs the float64 reference interpreter (slower)
  --allow-nan    predict the other rows and mark those holding NaN or infinite values: NaN outputs and
                 probabilities, an empty class

Exit codes: 0 ok, 1 an error in the program, the input, the weights or the command line, 2 internal.

Examples:
  nn predict examples/iris.nn --weights examples/runs/iris/latest --input examples/data/iris.csv
  nn predict examples/xor.nn --weights run/checkpoint.safetensors --input points.npy --out predictions.csv"""

let private spec =
    [ "--weights", Value; "--input", Value; "--out", Value; "--network", Value; "--threads", Value; "--engine", Value
      "--allow-nan", Switch ]

let private inv = Globalization.CultureInfo.InvariantCulture

let private isCsv (path: string) =
    let lower = path.ToLowerInvariant()
    lower.EndsWith ".csv" || lower.EndsWith ".csv.gz"

/// An IDX file (read by `readInputs` when it is neither .npy nor CSV).
let private isIdx (path: string) =
    let lower = path.ToLowerInvariant()
    not (lower.EndsWith ".npy") && not (isCsv path) && (lower.EndsWith ".idx" || lower.Contains "-ubyte")

/// Read the input rows by the file's extension: one tensor per input of the network. A CSV file gives every input
/// (the train block's feature lists, cut as in training; with the table encoding kept with the weights, `table`,
/// encoded as the training rows were); NPY files are one per input, separated by commas.
let private readInputs (block: (Nn.Dsl.TrainDecl * Nn.Compiler.Env) option) (c: Compile.Compiled)
                       (table: TableEncoding option) (path: string) =
    let lower = path.ToLowerInvariant()
    if lower.EndsWith ".npy" then path.Split(',') |> Array.map Npy.ReadHost
    elif isCsv path then
        let groups =
            match block |> Option.map (TrainPlan.config c) with
            | Some { Data = TrainConfig.Csv(_, groups, _, _) } ->
                groups |> List.map fst |> List.filter (not << List.isEmpty)
            | _ -> []
        let split (x: HostTensor) widths = if groups.Length > 1 then DataLoad.splitColumns x widths else [| x |]
        match table with
        | Some t -> split (Csv.Read(path, CsvSpec(Known = t))).Features (DataLoad.groupWidths groups t)
        | None ->
            let features =
                match List.concat groups with
                | [] -> null
                | cols ->
                    cols
                    |> List.map (function
                        | TrainConfig.ByName n -> ColumnRef.ByName n
                        | TrainConfig.ByIndex i -> ColumnRef.ByIndex i)
                    |> ResizeArray
                    :> Collections.Generic.IReadOnlyList<_>
            split (Csv.Read(path, CsvSpec(features, null))).Features (groups |> List.map List.length)
    elif isIdx path then [| Idx.Read path |]
    else fail (sprintf "--input: `%s` is not .npy, .csv or IDX (.idx, *-ubyte)" path)

/// The shapes of the inputs checked against the network's inputs, one each: the shape they run with (a single row
/// without the batch axis is accepted and gets one).
let private checkRowShapes (net: Compile.NetworkInfo) (file: string) (shapes: int[][]) =
    let inputs = (Compile.forward net (GraphBuilder()) false).Inputs
    let decl = net.Decl.Inputs.Head
    if shapes.Length <> inputs.Length then
        let names = inputs |> List.map (fun (n, _) -> "`" + n + "`") |> String.concat ", "
        raise (DataException(DataErrorCodes.InputCount, file,
                sprintf "--input gives %d input%s, but the network `%s` takes %d (%s): give a CSV file with the \
train block's feature lists, or one .npy file per input separated by commas (--input a.npy,b.npy)"
                    shapes.Length (if shapes.Length = 1 then "" else "s") net.Decl.Name inputs.Length names))
    Array.map2 (fun (name: string, input: Node) (shape: int[]) ->
        let dims = input.Shape.ToArray()
        let fits (shape: int[]) = Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] shape
        if shape.Length = dims.Length && fits shape[1..] then shape
        elif shape.Length = dims.Length - 1 && fits shape then Array.append [| 1 |] shape
        else
            let rowShape = HostTensor.FormatShape(ReadOnlySpan(if shape.Length = 0 then [||] else shape[1..]))
            let decl = net.Decl.Inputs |> List.tryFind (fun p -> p.Name = name) |> Option.defaultValue decl
            Nn.Dsl.Diagnostic.fail (if shapes.Length > 1 then DataErrorCodes.InputShape else "NN0550") decl.Span
                (sprintf "the rows of %s%s have the shape %s, but the network `%s` takes %O (rows of %O)"
                    (Path.GetFileName file) (if shapes.Length > 1 then sprintf " for the input `%s`" name else "")
                    rowShape net.Decl.Name input.Shape (Shape(dims[1..])))) (Array.ofList inputs) shapes

/// The inputs checked against the network's inputs, one tensor each (a single row without the batch axis is
/// accepted).
let private checkShapes (net: Compile.NetworkInfo) (file: string) (xs: HostTensor[]) =
    checkRowShapes net file (xs |> Array.map (fun x -> x.Shape))
    |> Array.map2 (fun (x: HostTensor) shape -> if shape.Length = x.Rank then x else HostTensor(shape, x.Data)) xs
    |> fun checkedXs ->
        if checkedXs |> Array.exists (fun x -> x.Rows <> checkedXs[0].Rows) then
            raise (DataException(DataErrorCodes.InputRowMismatch, file,
                    sprintf "the inputs have %s rows; every input needs the same number of rows"
                        (checkedXs |> Array.map (fun x -> string x.Rows) |> String.concat ", ")))
        checkedXs

/// Whether every value of `values` is finite (no NaN, no infinity), read in place.
let private allFinite (values: ReadOnlySpan<float32>) =
    // x - x is 0 for a finite x and NaN for NaN and the infinities: one vectorised pass, no copy
    let mutable finite = true
    let mutable i = 0
    let width = Numerics.Vector<float32>.Count
    while finite && i + width <= values.Length do
        let v = Numerics.Vector<float32>(values.Slice(i, width))
        finite <- Numerics.Vector.EqualsAll(v - v, Numerics.Vector<float32>.Zero)
        i <- i + width
    while finite && i < values.Length do
        finite <- Single.IsFinite values[i]
        i <- i + 1
    finite

/// A classifier's classes and how one output row becomes their probabilities.
type private Classes =
    { Names: string[]
      /// `Probabilities outputs start p`: the class probabilities of the output row of `outputs` at `start` (read in
      /// place) into `p`, one per name (no allocation); all NaN when the row is not finite
      Probabilities: float32[] -> int -> float[] -> unit }

/// The softmax of the scores `row[start..start + p.Length - 1]` in float64 into `p`: exp(v - max) / their sum
/// (summed in order).
let private softmax (row: float32[]) (start: int) (p: float[]) =
    let mutable m = row[start]
    for j in 1 .. p.Length - 1 do
        if row[start + j] > m then m <- row[start + j]
    let mutable sum = 0.0
    for j in 0 .. p.Length - 1 do
        p[j] <- exp (float row[start + j] - float m)
        sum <- sum + p[j]
    for j in 0 .. p.Length - 1 do
        p[j] <- p[j] / sum

/// The classes of a network trained with `loss`, whose output rows have `k` values, or None for a regression.
/// Scores trained with softmaxCrossEntropy get a softmax, unless the network already ends in one.
let private classesOf (loss: LossKind) (endsInSoftmax: bool) (names: string[] option) (k: int) : Classes option =
    let finite f (row: float32[]) (start: int) (p: float[]) =
        if allFinite (ReadOnlySpan(row, start, k)) then f row start p else Array.fill p 0 p.Length nan
    match loss.Target with
    | LossTarget.BinaryLabels when k = 1 ->
        let names = match names with Some n when n.Length = 2 -> n | _ -> [| "0"; "1" |]
        Some { Names = names; Probabilities = finite (fun row i p -> p[0] <- 1.0 - float row[i]; p[1] <- float row[i]) }
    | LossTarget.Classes when k > 1 ->
        let names = match names with Some n when n.Length = k -> n | _ -> Array.init k string
        let scores = loss.Prediction = LossPrediction.Logits && not endsInSoftmax
        let asGiven (row: float32[]) (start: int) (p: float[]) = for j in 0 .. k - 1 do p[j] <- float row[start + j]
        Some { Names = names; Probabilities = finite (if scores then softmax else asGiven) }
    | _ -> None

/// The most probable class, or "" for a row of NaN probabilities (a class is never invented).
let private predicted (c: Classes) (p: float[]) =
    if p |> Array.exists Double.IsNaN then "" else c.Names[Array.IndexOf(p, Array.max p)]

/// Rows (0-based) holding a NaN or an infinity.
let private badRows (x: HostTensor) =
    if allFinite (ReadOnlySpan(x.Data, 0, x.Rows * x.RowSize)) then []
    else
        [ for i in 0 .. x.Rows - 1 do
              if not (allFinite (ReadOnlySpan(x.Data, i * x.RowSize, x.RowSize))) then i ]

/// "2, 5 and 9" (1-based), at most ten of them.
let private rowList (rows: int list) =
    let shown = rows |> List.truncate 10 |> List.map (fun i -> string (i + 1))
    let more = if rows.Length > 10 then sprintf " and %d more" (rows.Length - 10) else ""
    match shown with
    | [ one ] -> "row " + one
    | _ when more <> "" -> "rows " + String.concat ", " shown + more
    | _ -> "rows " + String.concat ", " (List.take (shown.Length - 1) shown) + " and " + List.last shown

/// Rows per pass of the network in `nn predict`, as Keras' `predict` runs in batches (of 32) and PyTorch users batch
/// their `torch.no_grad()` forward: one binding of the inference step, activations that stay in the cache, and
/// memory that does not grow with the input (10,000 MNIST digits at once: 0.12 s of CPU and 160 MB; issue #18).
let internal predictBatch = 256

/// The network's outputs for `rows` rows fed batch by batch: `next ()` gives the next batch (its tensors, one per
/// input, then its first row and its number of rows; zero rows after those) or None after the last; each batch is
/// handed to `release` once its outputs are copied out, and `onRows outputs start n` told that rows start .. start +
/// n - 1 of the outputs are in.
let private runBatches (exec: IStepExecutor) (rows: int) (next: unit -> (HostTensor[] * int * int) option) release
                       (onRows: HostTensor -> int -> int -> unit) =
    let mutable out: HostTensor option = None
    let mutable batch = next ()
    while batch.IsSome do
        let xs, start, n = batch.Value
        let xs' = xs :> Collections.Generic.IReadOnlyList<HostTensor>
        let all =
            match out with
            | Some t ->
                exec.PredictInto(xs', t.Data.AsSpan(start * t.RowSize, n * t.RowSize)) // no array a batch
                t
            | None ->
                let o = exec.Predict xs'
                let s = Array.copy o.Shape
                s[0] <- rows
                let t = HostTensor(s, Array.zeroCreate (rows * o.RowSize))
                o.Data.AsSpan(0, n * o.RowSize).CopyTo(t.Data.AsSpan(start * o.RowSize))
                out <- Some t
                t
        release batch.Value
        onRows all start n
        batch <- next ()
    out.Value

/// The network's outputs for every row of the inputs `xs` (one tensor per input, the same rows), `predictBatch` rows
/// at a time; the last batch is padded with zero rows (their outputs dropped), so every pass runs the one binding.
/// Each row's output is the same as when all rows run at once: a network in evaluation mode computes each row on its
/// own.
let internal predictInBatches (exec: IStepExecutor) (xs: HostTensor[]) =
    let rows = xs[0].Rows
    if xs |> Array.exists (fun x -> x.Rank = 0) || rows <= predictBatch then
        exec.Predict(xs :> Collections.Generic.IReadOnlyList<HostTensor>)
    else
        let batches =
            xs |> Array.map (fun x ->
                let shape = Array.copy x.Shape
                shape[0] <- predictBatch
                HostTensor(shape, Array.zeroCreate (predictBatch * x.RowSize)))
        let mutable start = 0
        let next () =
            if start >= rows then None
            else
                let n = min predictBatch (rows - start)
                for x, batch in Array.zip xs batches do
                    if n < predictBatch then Array.Clear batch.Data
                    x.Data.AsSpan(start * x.RowSize, n * x.RowSize).CopyTo(batch.Data.AsSpan())
                start <- start + n
                Some(batches, start - n, n)
        runBatches exec rows next ignore (fun _ _ _ -> ())

/// Rows of the input as the command shows and checks them: how many, which hold NaN or infinite values (run as zeros,
/// their outputs NaN), and the values of a row as read (asked for the shown rows and the first bad one).
type private Fed = { Rows: int; Bad: int list; Values: int -> float32[] }

/// The error for rows holding NaN or infinite values (unless --allow-nan marks them).
let private nonFinite (input: string) (fed: Fed) =
    let first = fed.Values fed.Bad.Head
    let j = first |> Array.findIndex (fun v -> not (Single.IsFinite v))
    let value = if Single.IsNaN first[j] then "NaN" elif first[j] > 0f then "infinity" else "-infinity"
    DataException("NN0560", input,
        sprintf "%s%s hold%s NaN or infinite values (row %d, value %d: %s); a prediction needs finite inputs: \
fix or drop those rows, or pass --allow-nan to mark them (NaN outputs, an empty class)"
            (rowList fed.Bad) (if isCsv input then " (data rows, after the header)" else "")
            (if fed.Bad.Length = 1 then "s" else "") (fed.Bad.Head + 1) (j + 1) value)

/// Rows shown in the printed table.
let private shownRows = 20

/// Runs `f` on a thread of its own called `name`; the function returned waits for it and raises what it raised.
let private inBackground (name: string) (f: unit -> unit) : unit -> unit =
    let mutable failure: Runtime.ExceptionServices.ExceptionDispatchInfo = null
    let run () =
        try f () with e -> failure <- Runtime.ExceptionServices.ExceptionDispatchInfo.Capture e
    let thread = Threading.Thread(run, IsBackground = true, Name = name)
    thread.Start()
    fun () ->
        thread.Join()
        if not (isNull failure) then failure.Throw()

/// Every row's class probabilities as float32 (written) and the shown rows' also in float64 (printed), a range of
/// rows at a time: on a thread of its own as the batches' outputs come in (`Add`: the float64 softmax of 10,000 rows
/// was ~1 ms of the command thread after the forward), and whatever was not added in `Finish`.
type private Probabilities(cl: Classes, out: HostTensor, shown: int) =
    let k = cl.Names.Length
    let size = out.RowSize
    let all = Array.zeroCreate<float32> (out.Rows * k)
    let shownP = Array.zeroCreate<float[]> shown
    let p = Array.zeroCreate<float> k
    let rows (start: int) (n: int) =
        for i in start .. start + n - 1 do
            cl.Probabilities out.Data (i * size) p
            for j in 0 .. k - 1 do
                all[i * k + j] <- float32 p[j]
            if i < shown then shownP[i] <- Array.copy p
    let queue = new Collections.Concurrent.BlockingCollection<struct (int * int)>()
    let consume () =
        for struct (start, n) in queue.GetConsumingEnumerable() do
            rows start n
    // waits for the worker and raises what it raised (None: no worker was started)
    let mutable joinWorker: (unit -> unit) option = None
    // rows final but not yet handed to the worker: it is woken (a system call, ~15 µs here) once per 1,024 rows
    let mutable pendingStart, pendingRows = 0, 0
    let flush () =
        if pendingRows > 0 then
            if joinWorker.IsNone then joinWorker <- Some(inBackground "nn probabilities" consume)
            queue.Add(struct (pendingStart, pendingRows))
            pendingRows <- 0
    /// Rows `start` .. `start + n - 1` of the outputs are final: their probabilities are computed on the worker.
    member _.Add(start: int, n: int) =
        if pendingRows > 0 && start <> pendingStart + pendingRows then flush ()
        if pendingRows = 0 then pendingStart <- start
        pendingRows <- pendingRows + n
        if pendingRows >= 1024 then flush ()
    /// Every row's probabilities (after the worker is done; every row here when none was added), the `bad` rows'
    /// outputs first set to NaN (so their probabilities are NaN).
    member _.Finish(bad: int list) =
        flush ()
        queue.CompleteAdding()
        match joinWorker with
        | None -> rows 0 out.Rows
        | Some join -> join ()
        for i in bad do
            Array.fill out.Data (i * size) size nanf
            rows i 1
        HostTensor([| out.Rows; k |], all), shownP

/// Batches of one IDX input read on a thread of their own while the program compiles and earlier batches run
/// (`RowBatches`, a ring of 8: 6.4 MB for MNIST); each batch's rows holding NaN or infinite values are set to zero
/// there and remembered, with the values of the shown rows and of the first such row as read. `first` runs on that
/// thread before the file is opened, `opened` once its header is read.
[<AllowNullLiteral>]
type private Streamed(path: string, first: unit -> unit, opened: unit -> unit) =
    let bad = Collections.Generic.List<int>()
    let kept = Collections.Generic.Dictionary<int, float32[]>()
    // the network's scaling of its input (`ScaleBy`), applied to each batch after the checks below; the first batch
    // the reader scaled (the batches before it are scaled when taken)
    let mutable scale: Nn.Runtime.Rewrite.InputScale = null
    let mutable scaledFrom = Int32.MaxValue
    let decoded (b: RowBatches.Batch) =
        let x = b.Tensor
        let size = x.RowSize
        for i in 0 .. (min b.Rows (shownRows - b.Start)) - 1 do
            kept[b.Start + i] <- x.Row(i).ToArray()
        if not (allFinite (ReadOnlySpan(x.Data, 0, b.Rows * size))) then
            for i in 0 .. b.Rows - 1 do
                if not (allFinite (ReadOnlySpan(x.Data, i * size, size))) then
                    if bad.Count = 0 then kept[b.Start + i] <- x.Row(i).ToArray()
                    bad.Add(b.Start + i)
                    x.Row(i).Clear()
        let s = Threading.Volatile.Read(&scale)
        if not (isNull s) then
            if scaledFrom = Int32.MaxValue then Threading.Volatile.Write(&scaledFrom, b.Start)
            s.Apply(x.Data.AsSpan())
    let open' () =
        first ()
        let rows = IdxRows.Open path
        opened ()
        rows
    let batches = new RowBatches(open', predictBatch, 8, Action<_>(decoded))
    /// The file's shape (waits for its header; raises what reading it raises).
    member _.Shape = batches.Shape
    /// Scales every batch as `s` says (before `Run`): on the reader thread, after the checks and the shown rows'
    /// copies (they keep the values as read).
    member _.ScaleBy(s: Nn.Runtime.Rewrite.InputScale) = Threading.Volatile.Write(&scale, s)
    /// The outputs of every row, batch by batch as they are read, and the rows as `Fed` (after the last batch).
    member _.Run(exec: IStepExecutor, onRows) =
        let rows = batches.Shape[0]
        let take (b: RowBatches.Batch) =
            if not (isNull scale) && b.Start < Threading.Volatile.Read(&scaledFrom) then
                scale.Apply(b.Tensor.Data.AsSpan()) // decoded before the scale was known
            [| b.Tensor |], b.Start, b.Rows
        let next () = batches.Next() |> Option.ofObj |> Option.map take
        let release (xs: HostTensor[], start, n) = batches.Return(RowBatches.Batch(xs[0], start, n))
        let out = runBatches exec rows next release onRows
        out, { Rows = rows; Bad = List.ofSeq bad; Values = fun i -> kept[i] }
    /// Reads to the end without running anything: raises what reading the rest raises.
    member _.Drain() =
        let mutable b = batches.Next()
        while not (isNull b) do
            batches.Return b
            b <- batches.Next()
    interface IDisposable with
        member _.Dispose() = (batches :> IDisposable).Dispose()

/// Bytes the command may allocate before the first garbage collection: the ~15 MB it allocates for the 10,000 digits
/// with room to spare. The region commits its budget up front (for the small and the large object heap alike), and
/// those are fresh pages: 64 MB cost `nn predict` ~7 ms of wall and ~20 ms of CPU against 24 MB (bench/README.md,
/// eighth #18 session); 16 MB measured no better than 24.
let private noCollectionBudget = 24L <<< 20

let run (a: Args) =
    let file = fileArg "predict" a
    let weights =
        match a.Get "--weights" with
        | Some w -> w
        | None -> fail "`nn predict` needs --weights W (a checkpoint or a run folder)"
    let input = match a.Get "--input" with Some x -> x | None -> fail "`nn predict` needs --input X.(npy|csv|idx)"
    applyThreads a
    // The whole command allocates about 15 MB (the program's graphs, the weights, the outputs; the input is decoded
    // into a ring of 8 batches): no collection while it runs (they were 2 ms of the 20 before the first batch ran).
    // Past the budget the runtime collects as usual.
    // the heap in 2 MiB pages from here on: asked before the region below commits and touches its memory, since a
    // 2 MiB range already holding a 4 KiB page stays in 4 KiB pages (page faults of the command 2,300 -> 1,530 by
    // perf, CPU ~157 -> ~148 ms; bench/README.md)
    Nn.Runtime.Util.HeapPages.AdviseHuge()
    GC.TryStartNoGCRegion(noCollectionBudget) |> ignore
    Timings.mark "start"
    // the weights are read while the program compiles: by the IDX file's reader thread before its first batch (a
    // third thread would take a core from the compile on two cores), else on a thread of their own; their errors are
    // raised below, in order
    let ahead = Checkpoint.WeightsAhead weights
    // an IDX file is read batch by batch on another thread from now on (its errors are raised below, in order)
    use streamed = if isIdx input then new Streamed(input, ahead.Run, ahead.CheckFinite) else null
    if isNull streamed then ahead.Start()
    // the network as trained: the run's `--set`s of top-level lets
    let c = compileForRun file (letSetsAhead ahead weights) []
    Timings.mark "compile"
    let net = network c (a.Get "--network")
    let block = Checkpoint.blockFor c net.Decl.Name false
    let graphs = Checkpoint.graphsFor c block net
    let values, metadata =
        Checkpoint.readWeightsAhead (Some ahead) weights (Seq.append graphs.Predict.Params graphs.Predict.States)
    Timings.mark "graphs and weights"
    // streamed only when the file's rows are the network's rows (a single row without the batch axis is read whole)
    let streamed =
        if isNull streamed then None
        else
            let shape = streamed.Shape
            let fits =
                try (checkRowShapes net input [| shape |]).[0].Length = shape.Length
                with _ ->
                    streamed.Drain() // damage further on is reported first, as when the file is read whole
                    reraise ()
            if fits then Some streamed
            else
                (streamed :> IDisposable).Dispose()
                None
    Timings.mark "input"
    let endsInSoftmax = graphs.Predict.Output("output").Op = OpKind.Softmax
    let names = lazy (Checkpoint.classNamesIn metadata)
    let classesFor k = classesOf graphs.Spec.Loss endsInSoftmax names.Value k
    let shownOf (out: HostTensor) = min out.Rows shownRows
    // the probabilities computed while the batches run (the streamed input), if any
    let early = ref None
    let out, fed =
        match streamed with
        | Some s ->
            // the fused engine runs a scaling of the input where the reader decodes it (bit for bit the same)
            let run =
                match engineOf a with
                | Fused ->
                    match Nn.Runtime.Rewrite.InputScale.Find(graphs.Predict, graphs.DataInputs[0].Name) with
                    | null -> graphs
                    | scale ->
                        s.ScaleBy scale
                        graphs.WithPredict scale.Graph
                | Reference -> graphs
            let exec = predictor (engineOf a) run values
            Timings.mark "executor"
            let onRows (out: HostTensor) start n =
                if early.Value.IsNone then
                    early.Value <-
                        Some(classesFor out.RowSize |> Option.map (fun cl -> Probabilities(cl, out, shownOf out)))
                early.Value.Value |> Option.iter (fun p -> p.Add(start, n))
            let out, fed = s.Run(exec, onRows)
            if not fed.Bad.IsEmpty && not (a.Has "--allow-nan") then raise (nonFinite input fed)
            out, fed
        | None ->
            let table = Checkpoint.tableIn (Checkpoint.resolveWeights weights) metadata
            let xs = checkShapes net input (readInputs block c table input)
            // with several inputs, a row is shown and checked as its inputs side by side
            let x =
                if xs.Length = 1 then xs[0]
                else
                    let n = xs[0].Rows
                    let rows = [| for i in 0 .. n - 1 -> xs |> Array.collect (fun t -> t.Row(i).ToArray()) |]
                    HostTensor([| n; rows[0].Length |], Array.concat rows)
            let fed = { Rows = x.Rows; Bad = badRows x; Values = fun i -> x.Row(i).ToArray() }
            if not fed.Bad.IsEmpty && not (a.Has "--allow-nan") then raise (nonFinite input fed)
            // the marked rows are run as zeros (so no NaN reaches the engine) and their outputs replaced by NaN below
            let fedXs =
                if fed.Bad.IsEmpty then xs
                else
                    xs |> Array.map (fun t ->
                        let data = Array.copy t.Data
                        for i in fed.Bad do Array.fill data (i * t.RowSize) t.RowSize 0f
                        HostTensor(t.Shape, data))
            let exec = predictor (engineOf a) graphs values
            Timings.mark "executor"
            predictInBatches exec fedXs, fed
    Timings.mark "forward"
    let bad = fed.Bad
    let classes = classesFor out.RowSize
    let shown = shownOf out
    // every row's probabilities as float32 (written), the shown rows' also in float64 (printed)
    let probabilities =
        classes |> Option.map (fun cl ->
            match early.Value with
            | Some(Some p) -> p.Finish bad
            | _ -> Probabilities(cl, out, shown).Finish bad)
    for i in bad do Array.fill out.Data (i * out.RowSize) out.RowSize nanf
    let written = match probabilities with Some(t, _) -> t | None -> out
    // the file is written on another thread while the table is made; nothing is printed before it is written
    let fileWritten =
        match a.Get "--out" with
        | Some y when y.ToLowerInvariant().EndsWith ".csv" ->
            inBackground "nn predictions file" (fun () ->
                Csv.WritePredictions(y, written, classes |> Option.map (fun cl -> cl.Names) |> Option.toObj))
        | Some y when y.ToLowerInvariant().EndsWith ".npy" ->
            inBackground "nn predictions file" (fun () -> Npy.Write(y, written))
        | Some y -> fail (sprintf "--out: `%s` should end in .csv or .npy" y)
        | None -> ignore
    let number (f: float) = if Double.IsNaN f then "NaN" else f.ToString("0.####", inv)
    let cellsOf (v: float32[]) =
        if v.Length > 10 then "[" + string v.Length + " values]"
        else v |> Array.map (float >> number) |> String.concat " "
    let cells i = cellsOf (fed.Values i)
    let header, rows =
        match classes, probabilities with
        | Some cl, Some(_, p) when cl.Names.Length <= 10 ->
            [ "row"; "input"; "class" ] @ List.ofArray cl.Names,
            [ for i in 0 .. shown - 1 ->
                  [ string (i + 1); cells i; predicted cl p[i] ] @ (p[i] |> Array.map number |> List.ofArray) ]
        | Some cl, Some(_, p) ->
            [ "row"; "input"; "class"; "p" ],
            [ for i in 0 .. shown - 1 -> [ string (i + 1); cells i; predicted cl p[i]; number (Array.max p[i]) ] ]
        | _ ->
            [ "row"; "input"; "output" ],
            [ for i in 0 .. shown - 1 -> [ string (i + 1); cells i; cellsOf (out.Row(i).ToArray()) ] ]
    // the lines are gathered and written at once: printf's pieces were a write each (~180 system calls) and its
    // format interpretation ~0.5 ms of the native command (issue #18)
    let text = Text.StringBuilder(4096)
    let line (s: string) = text.Append(s).Append('\n') |> ignore
    let flush () =
        stdout.Write(text.ToString())
        text.Clear() |> ignore
    line ("`" + net.Decl.Name + "` on " + string out.Rows + (if out.Rows = 1 then " row" else " rows") + " of "
          + (input.Split(',') |> Array.map Path.GetFileName |> String.concat ", ")
          + (if classes.IsSome then ": the predicted class and the class probabilities" else ""))
    Summary.table header rows |> List.iter line
    if out.Rows > shown then
        line ("... " + string (out.Rows - shown) + " more rows"
              + (if a.Has "--out" then "" else " (write them all with --out Y.csv)"))
    if not bad.IsEmpty then
        line (rowList bad + " of " + Path.GetFileName input
              + " held NaN or infinite values: their outputs are NaN and their class is empty (--allow-nan)")
    let overflow =
        [ for i in 0 .. out.Rows - 1 do
              if not (List.contains i bad) && not (allFinite (ReadOnlySpan(out.Data, i * out.RowSize, out.RowSize)))
              then i ]
    fileWritten ()
    if not overflow.IsEmpty then
        flush () // in order with the warning on a terminal that shows both
        eprintfn "nn: warning: the network's outputs for %s are not finite; %s" (rowList overflow)
            (if classes.IsSome then "their class is left empty" else "check the weights and the inputs' scale")
    match a.Get "--out" with
    | Some y -> line ("wrote " + string out.Rows + " rows to " + y)
    | None -> ()
    flush ()
    Timings.mark "outputs"
    0

let command: Command =
    { Name = "predict"
      Summary = "run trained weights on new inputs (npy, csv, idx) and print or write the outputs"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "predict" spec args)) }
