/// The folder of one training run: `metrics.csv` (a row per epoch), `checkpoint.safetensors`, `best.safetensors`
/// when early stopping restored an earlier epoch, a copy of the model source and `curves.png`. Every file is
/// replaced atomically, so an interrupted run never leaves half a file; a lock file keeps a second `nn train` out.
module internal Nn.Cli.RunFolder

open System
open System.Globalization
open System.IO
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Runtime.Training
open SkiaSharp

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

// ---------------------------------------------------------------- one writer per folder

/// `--out` names a folder that already holds a run (or other files), without `--resume` or `--force`.
[<Literal>]
let Occupied = "NN0760"

/// Another `nn train` holds the run folder's lock.
[<Literal>]
let Locked = "NN0761"

/// The lock file of a run folder while `nn train` writes it.
[<Literal>]
let LockName = "train.lock"

/// A folder's name as messages begin with it (the diagnostic shows the path given, and drops this prefix).
let private label (dir: string) = Path.GetFileName(Path.TrimEndingDirectorySeparator dir)

/// The run folder's lock, or None when another process holds it. The lock is the operating system's on the open
/// file (flock on Unix, the share mode on Windows), so the kernel releases it when its process dies, even by
/// kill -9: a lock file left behind by a killed run is stale and simply taken over. Disposing releases the lock and
/// removes the file (on Unix by name before closing, so a waiting process never locks a file already gone).
let tryLock (dir: string) : IDisposable option =
    let path = Path.Combine(dir, LockName)
    let windows = OperatingSystem.IsWindows()
    let rec attempt k =
        let options = if windows then FileOptions.DeleteOnClose else FileOptions.None
        match (try Some(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, options))
               with
               | :? UnauthorizedAccessException as e ->
                   let msg = sprintf "%s: cannot write here: %s" (label dir) e.Message
                   raise (DataException(DataErrorCodes.WriteFailed, dir, msg))
               | :? IOException -> None) with
        | None -> None
        | Some s when not (File.Exists path) && k < 5 ->
            // its holder removed it between our open and our lock: that file is gone, try the path again
            s.Dispose()
            attempt (k + 1)
        | Some s ->
            let text = sprintf "nn train, process %d\n" Environment.ProcessId
            s.SetLength 0L
            s.Write(Text.Encoding.UTF8.GetBytes text)
            s.Flush()
            Some
                { new IDisposable with
                    member _.Dispose() =
                        if not windows then (try File.Delete path with _ -> ())
                        s.Dispose() }
    attempt 1

/// The run folder's lock, or NN0761 naming the folder.
let lock (dir: string) : IDisposable =
    let dir = Path.TrimEndingDirectorySeparator dir
    match tryLock dir with
    | Some l -> l
    | None ->
        let msg =
            sprintf "%s: another `nn train` is writing to this run folder (it holds %s); " (label dir) LockName
            + "wait for it to end, or train into another folder with --out"
        raise (DataException(Locked, dir, msg))

/// A new run folder `<parent>/<yyyyMMdd-HHmmss>` (with `-2`, `-3`... when that name is taken), locked: two runs
/// started in the same second get two folders; `<parent>/latest` points at it.
let create (parent: string) : string * IDisposable =
    let stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", inv)
    let rec pick k =
        let dir = Path.Combine(parent, (if k = 1 then stamp else sprintf "%s-%d" stamp k))
        if Directory.Exists dir then pick (k + 1)
        else
            let dir = createDirectory dir
            match tryLock dir with
            | Some l -> dir, l
            | None -> pick (k + 1)
    let dir, l = pick 1
    pointLatest parent dir
    dir, l

/// The files a run writes into its folder (the model source's copy is named in the checkpoint's metadata: its header
/// alone is read, not its 8.5 MB of `mnist_mlp` weights, ~35 ms of `nn train --force` here, issue #18).
let private runFiles (dir: string) =
    let ck = Path.Combine(dir, Nn.Compiler.Checkpoint.FileName)
    let source =
        try
            match (SafeTensors.ReadMetadata ck).TryGetValue "source_file" with
            | true, f when f <> "" && Path.GetFileName f = f -> [ f ]
            | _ -> []
        with _ -> []
    [ Nn.Compiler.Checkpoint.FileName; Nn.Compiler.Checkpoint.BestFileName; "metrics.csv"; "curves.png" ] @ source

/// `--out DIR`: the folder, created when missing, and its lock. A folder that already holds anything is refused
/// (NN0760) unless `force`, which removes the files of the run it holds (other files stay).
let claim (dir: string) (force: bool) : string * IDisposable =
    let dir = Path.TrimEndingDirectorySeparator dir
    createDirectory dir |> ignore // a file of that name, or a place that cannot hold a folder: NN0706
    let held = lock dir
    let entries = Directory.GetFileSystemEntries dir |> Array.filter (fun p -> Path.GetFileName p <> LockName)
    if entries.Length > 0 then
        if force then
            for f in runFiles dir do
                let p = Path.Combine(dir, f)
                if File.Exists p then File.Delete p
        else
            held.Dispose()
            let what =
                try
                    let meta = SafeTensors.ReadMetadata(Path.Combine(dir, Nn.Compiler.Checkpoint.FileName))
                    let get k = match meta.TryGetValue k with | true, v -> v | _ -> "?"
                    sprintf "already holds a run of `%s` (%s epochs done)" (get "network") (get "epoch")
                with _ ->
                    let names = entries |> Array.map Path.GetFileName |> Array.sort
                    sprintf "is not empty (it holds %s%s)"
                        (names |> Array.truncate 3 |> Array.map (sprintf "`%s`") |> String.concat ", ")
                        (if names.Length > 3 then sprintf " and %d more" (names.Length - 3) else "")
            let msg =
                sprintf "%s: the --out folder %s; " (label dir) what
                + "continue it with --resume, replace it with --force, or choose another folder"
            raise (DataException(Occupied, dir, msg))
    Path.GetFullPath dir, held

/// Writes the weights a run ended with when early stopping restored an earlier epoch (`best.safetensors`), with the
/// checkpoint's metadata and that epoch (from 1); prediction's parameters and states only, not optimizer moments.
let writeBest (dir: string) (values: Collections.Generic.IReadOnlyDictionary<string, HostTensor>) (names: string seq)
              (epoch: int) (extra: (string * string) list) =
    let tensors =
        [ for n in names |> Seq.distinct -> Collections.Generic.KeyValuePair(n, RawTensor.FromHost values[n]) ]
    let meta = Collections.Generic.Dictionary<string, string>()
    meta["format"] <- "nn-weights-1"
    meta["epoch"] <- string epoch
    meta["restored"] <- "early stopping"
    meta["nn_version"] <- Nn.Compiler.Checkpoint.version
    for (k, v) in extra do meta[k] <- v
    SafeTensors.Write(Path.Combine(dir, Nn.Compiler.Checkpoint.BestFileName), tensors, meta)

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
            let names =
                h
                |> Array.filter (fun n ->
                    not (List.contains n [ "epoch"; "loss"; "val_loss"; "lr"; "seconds" ]) && not (n.StartsWith "val_"))
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

/// The plot of `curves.png`: the loss (left axis) and metrics (right axis) per epoch, training solid and validation
/// dashed (`rows` not empty).
let curvesPlot (title: string) (rows: Row list) =
    let plt = new ScottPlot.Plot()
    let xs = rows |> List.map (fun r -> float r.Epoch) |> Array.ofList
    let add (label: string) (ys: float[]) (dashed: bool) (right: bool) =
        let s = plt.Add.Scatter(xs, ys)
        s.LegendText <- label
        s.MarkerSize <- (if xs.Length > 40 then 0.0f else 4.0f)
        if dashed then s.LinePattern <- ScottPlot.LinePattern.Dashed
        if right then s.Axes.YAxis <- plt.Axes.Right
    add "loss" (rows |> List.map (fun r -> r.Loss) |> Array.ofList) false false
    if rows.Head.ValLoss.IsSome then
        add "val_loss" (rows |> List.map (fun r -> defaultArg r.ValLoss nan) |> Array.ofList) true false
    for (name, _) in rows.Head.Metrics do
        let metric (ms: (string * float) list) = ms |> List.find (fst >> (=) name) |> snd
        add name (rows |> List.map (fun r -> metric r.Metrics) |> Array.ofList) false true
        if rows.Head.ValLoss.IsSome then
            add ("val_" + name) (rows |> List.map (fun r -> metric r.ValMetrics) |> Array.ofList) true true
    plt.Title(title)
    plt.XLabel("epoch")
    plt.YLabel("loss")
    if not rows.Head.Metrics.IsEmpty then plt.Axes.Right.Label.Text <- "metric"
    plt.ShowLegend() |> ignore
    plt

/// The size of `curves.png` in pixels.
let curvesSize = 900, 500

/// The PNG of a plot: ScottPlot's drawing (on the surface `Plot.GetImage` makes), encoded with zlib's fastest level and
/// the "up" row filter instead of Skia's default (level 6, each of five filters tried on every row): the same pixels
/// in a file about a third larger (35 against 27 kB for 8 epochs of the `mlp` job), encoded in ~2 instead of ~10 ms
/// (issue #18).
let png (plt: ScottPlot.Plot) (width: int, height: int) =
    let info = SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul)
    use memory = new Nn.Runtime.Util.HugeBuffer(info.BytesSize64)
    use surface = SKSurface.Create(info, memory.Pointer, info.RowBytes)
    plt.Render(surface.Canvas, width, height)
    use pixels = surface.PeekPixels()
    use data = pixels.Encode(SKPngEncoderOptions(SKPngEncoderFilterFlags.Up, 1))
    data.ToArray()

/// Writes `curves.png` (nothing when there are no rows).
let writeCurves (path: string) (title: string) (rows: Row list) =
    if not rows.IsEmpty then
        use plt = curvesPlot title rows
        AtomicFile.WriteAllBytes(path, png plt curvesSize)

/// Draws a small plot and throws it away: loads the plotting libraries (ScottPlot, SkiaSharp's native library, the
/// fonts it finds under /usr/share/fonts, a typeface), so that `writeCurves` after the last epoch is quick. Run on the
/// other core while the data is read and the step is built (issue #18); any failure is ignored here (the real drawing
/// reports its own).
let warmCurves () =
    try
        use plt = new ScottPlot.Plot()
        let s = plt.Add.Scatter([| 1.0; 2.0 |], [| 1.0; 0.5 |])
        s.LegendText <- "loss"
        plt.Title("warm-up")
        plt.XLabel("epoch")
        plt.ShowLegend() |> ignore
        png plt (90, 50) |> ignore
    with _ -> ()
