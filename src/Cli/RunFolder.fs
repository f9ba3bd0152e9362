/// The folder of one training run: `metrics.csv` (a row per epoch), `checkpoint.safetensors`, a copy of the model
/// source and `curves.png`. Every file is replaced atomically, so an interrupted run never leaves half a file.
module Nn.Cli.RunFolder

open System
open System.Globalization
open System.IO
open Nn.Runtime.Checkpoints
open Nn.Runtime.Training

let private inv = CultureInfo.InvariantCulture

/// One epoch as `metrics.csv` stores it.
type Row =
    { Epoch: int
      Loss: float
      Metrics: (string * float) list
      ValLoss: float option
      ValMetrics: (string * float) list
      Lr: float
      Seconds: float }

let ofReport (r: EpochReport) (seconds: float) =
    let pairs (m: Collections.Generic.IReadOnlyDictionary<string, float>) =
        if isNull m then [] else m |> Seq.map (fun kv -> kv.Key, kv.Value) |> List.ofSeq
    { Epoch = r.Epoch + 1
      Loss = r.TrainLoss
      Metrics = pairs r.Metrics
      ValLoss = Option.ofNullable r.ValidationLoss
      ValMetrics = pairs r.ValidationMetrics
      Lr = r.LearningRate
      Seconds = seconds }

/// The default parent of run folders: `runs/<network>` next to the model file, or the train block's `checkpoint`.
let parent (modelFile: string) (network: string) (checkpoint: string option) =
    match checkpoint with
    | Some dir -> dir
    | None -> Path.Combine(Path.GetDirectoryName(Path.GetFullPath modelFile), "runs", network)

/// Creates a folder and its parents, returning its full path. A place that cannot hold one (a file of that name,
/// no permission, a read-only disk) is the user's to fix: NN0706 at the path, not an internal error.
let createDirectory (path: string) =
    let failed (why: string) (inner: exn) =
        let message = sprintf "cannot create the folder: %s" why
        raise (Nn.Runtime.Data.DataException(Nn.Runtime.Data.DataErrorCodes.WriteFailed, path, message, inner = inner))
    if File.Exists path then failed "a file of that name exists" null
    try Directory.CreateDirectory(path).FullName with
    | :? IOException as e -> failed e.Message e
    | :? UnauthorizedAccessException as e -> failed e.Message e
    | :? ArgumentException as e -> failed e.Message e
    | :? NotSupportedException as e -> failed e.Message e

/// The stable name of the newest run under a parent: `<parent>/latest`, a symbolic link to the run folder (or, where
/// links cannot be made, a one-line file naming it, which Checkpoint.resolve follows).
let latestName = "latest"

/// Points `<parent>/latest` at `dir`; a failure only loses the pointer, never the run.
let private pointLatest (parent: string) (dir: string) =
    let link = Path.Combine(parent, latestName)
    try
        let info = FileInfo link
        if not (isNull info.LinkTarget) || info.Exists then File.Delete link
        try Directory.CreateSymbolicLink(link, Path.GetFileName dir) |> ignore
        with :? IOException | :? UnauthorizedAccessException ->
            AtomicFile.WriteAllText(link, Path.GetFileName dir + "\n")
    with _ -> ()

/// A new run folder `<parent>/<yyyyMMdd-HHmmss>` (with `-2`, `-3`... when that name is taken); `<parent>/latest`
/// points at it.
let create (parent: string) =
    let stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", inv)
    let rec pick k =
        let dir = Path.Combine(parent, (if k = 1 then stamp else sprintf "%s-%d" stamp k))
        if Directory.Exists dir then pick (k + 1) else dir
    let dir = createDirectory (pick 1)
    pointLatest parent dir
    dir

/// The newest run folder under `parent` that holds a checkpoint.
let latest (parent: string) =
    if not (Directory.Exists parent) then None
    else
        Directory.GetDirectories parent
        |> Array.filter (fun d -> Path.GetFileName d <> latestName)
        |> Array.filter (fun d -> File.Exists(Path.Combine(d, Nn.Compiler.Checkpoint.FileName)))
        |> Array.sortBy (fun d -> File.GetLastWriteTimeUtc(Path.Combine(d, Nn.Compiler.Checkpoint.FileName)), d)
        |> Array.tryLast

let private num (x: float) = x.ToString("R", inv)

/// Writes `metrics.csv`: epoch, loss, metrics, val_loss, val metrics, lr, seconds.
let writeMetrics (path: string) (rows: Row list) =
    match rows with
    | [] -> ()
    | first :: _ ->
        let names = first.Metrics |> List.map fst
        let hasVal = first.ValLoss.IsSome
        let header =
            [ "epoch"; "loss" ] @ names
            @ (if hasVal then "val_loss" :: (names |> List.map (fun n -> "val_" + n)) else [])
            @ [ "lr"; "seconds" ]
        let line (r: Row) =
            [ string r.Epoch; num r.Loss ] @ (r.Metrics |> List.map (snd >> num))
            @ (match r.ValLoss with Some v -> num v :: (r.ValMetrics |> List.map (snd >> num)) | None -> [])
            @ [ num r.Lr; r.Seconds.ToString("0.###", inv) ]
        let text = (header :: (rows |> List.map line)) |> List.map (String.concat ",") |> String.concat "\n"
        AtomicFile.WriteAllText(path, text + "\n")

/// The rows of an existing `metrics.csv` (to continue it when resuming); unreadable files give no rows.
let readMetrics (path: string) : Row list =
    try
        match File.ReadAllLines path |> Array.filter (fun l -> l <> "") |> List.ofArray with
        | [] -> []
        | header :: lines ->
            let h = header.Split ','
            let col name = Array.IndexOf(h, name)
            let names = h |> Array.filter (fun n -> not (List.contains n [ "epoch"; "loss"; "val_loss"; "lr"; "seconds" ]) && not (n.StartsWith "val_"))
            lines |> List.map (fun l ->
                let f = l.Split ','
                let get name = Double.Parse(f[col name], inv)
                { Epoch = int f[col "epoch"]
                  Loss = get "loss"
                  Metrics = [ for n in names -> n, get n ]
                  ValLoss = (if col "val_loss" >= 0 then Some(get "val_loss") else None)
                  ValMetrics = (if col "val_loss" >= 0 then [ for n in names -> n, get ("val_" + n) ] else [])
                  Lr = get "lr"
                  Seconds = get "seconds" })
    with _ -> []

/// `curves.png`: the loss (left axis) and metrics (right axis) per epoch, training solid and validation dashed.
let writeCurves (path: string) (title: string) (rows: Row list) =
    if not rows.IsEmpty then
        use plt = new ScottPlot.Plot()
        let xs = rows |> List.map (fun r -> float r.Epoch) |> Array.ofList
        let add (label: string) (ys: float[]) (dashed: bool) (right: bool) =
            let s = plt.Add.Scatter(xs, ys)
            s.LegendText <- label
            s.MarkerSize <- (if xs.Length > 40 then 0.0f else 4.0f)
            if dashed then s.LinePattern <- ScottPlot.LinePattern.Dashed
            if right then s.Axes.YAxis <- plt.Axes.Right
        add "loss" (rows |> List.map (fun r -> r.Loss) |> Array.ofList) false false
        if rows.Head.ValLoss.IsSome then add "val_loss" (rows |> List.map (fun r -> defaultArg r.ValLoss nan) |> Array.ofList) true false
        for (name, _) in rows.Head.Metrics do
            add name (rows |> List.map (fun r -> r.Metrics |> List.find (fst >> (=) name) |> snd) |> Array.ofList) false true
            if rows.Head.ValLoss.IsSome then
                add ("val_" + name) (rows |> List.map (fun r -> r.ValMetrics |> List.find (fst >> (=) name) |> snd) |> Array.ofList) true true
        plt.Title(title)
        plt.XLabel("epoch")
        plt.YLabel("loss")
        if not rows.Head.Metrics.IsEmpty then plt.Axes.Right.Label.Text <- "metric"
        plt.ShowLegend() |> ignore
        AtomicFile.WriteAllBytes(path, plt.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png))
