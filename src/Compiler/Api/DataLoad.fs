/// Reads a `train` block's data source into a dataset; data errors become diagnostics at the `data` field.
module internal Nn.Compiler.DataLoad

open Nn.Dsl
open Nn.Runtime.Data
open Nn.Runtime.Util
open Nn.Compiler.TrainConfig

let private column c =
    match c with
    | ByName n -> ColumnRef.ByName n
    | ByIndex i -> ColumnRef.ByIndex i

let private matrix (rows: float[][]) =
    let width = rows[0].Length
    HostTensor([| rows.Length; width |], rows |> Array.collect (Array.map float32))

/// Values written in the program or computed by `generate` that are not finite in float32 (NN0542, at `data`).
let private requireFinite (span: Span) (what: string) (values: float[][]) =
    values |> Array.iteri (fun i row ->
        row |> Array.iteri (fun j v ->
            if not (System.Single.IsFinite(float32 v)) then
                let value =
                    if System.Double.IsFinite v then
                        sprintf "%s is too large for a 32-bit float (the largest is about 3.4e38)"
                            (v.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace("E+", "e"))
                    elif System.Double.IsNaN v then "the value is NaN"
                    else "the value is infinite"
                let message =
                    sprintf "row %d, column %d of the %s: %s; training needs finite numbers" (i + 1) (j + 1) what value
                Diagnostic.fail DataErrorCodes.NonFinite span message))

/// The columns of a [N, total] matrix cut into one [N, width] matrix per width of `widths`, in order.
let splitColumns (x: HostTensor) (widths: int list) : HostTensor[] =
    let n, total = x.Shape[0], x.Shape[1]
    let widths = Array.ofList widths
    let starts = Array.scan (+) 0 widths
    widths |> Array.mapi (fun g w ->
        let data = Array.zeroCreate (n * w)
        for r in 0 .. n - 1 do
            System.Array.Copy(x.Data, r * total + starts[g], data, r * w, w)
        HostTensor([| n; w |], data))

/// Run a data-reading action, reporting a bad data file (DataException) as a diagnostic at `span`.
let guard (span: Span) (f: unit -> 'a) : 'a = RuntimeErrors.within span [] f

/// Which of `n` rows the block trains on: those TrainPlan keeps after its shuffle (`shuffle = true`) and validation
/// split, so that what is learnt from the data (`missing = mean`) sees the training rows only, as `standardize` does.
let trainingRows (cfg: TrainConfig) (n: int) : bool[] =
    let held = Dataset.HeldOut(n, cfg.Validation)
    let order =
        if cfg.ShuffleRows then Dataset.Permutation(n, Rng.Derive(uint64 cfg.Seed, 0x73687566UL))
        else Array.init n id
    let mask = Array.zeroCreate n
    for k in 0 .. n - held - 1 do mask[order[k]] <- true
    mask

let private columnList (cols: Column list) =
    if cols.IsEmpty then null else cols |> List.map column |> ResizeArray :> System.Collections.Generic.IReadOnlyList<_>

/// The widths of the inputs' column lists once encoded: a categorical column is one feature per known value.
let groupWidths (groups: Column list list) (encoding: TableEncoding) =
    let widths = encoding.Columns |> Seq.map (fun c -> c.Width) |> Array.ofSeq
    let starts = groups |> List.map List.length |> List.scan (+) 0
    groups |> List.mapi (fun g cols -> Array.sum widths[starts[g] .. starts[g] + cols.Length - 1])

/// The examples of `cfg.Data` with the encoding of a CSV table's feature columns when it has one (learnt from the
/// file, or `known`, the one kept with the weights, applied to it); `generate` draws from the stream `stream`.
let private read (known: TableEncoding option) (cfg: TrainConfig) (stream: uint64) : Dataset * TableEncoding option =
    guard cfg.DataSpan (fun () ->
        match cfg.Data with
        | Rows(xs, ys, _) ->
            requireFinite cfg.DataSpan "features" xs
            requireFinite cfg.DataSpan "targets" ys
            Dataset(matrix xs, matrix ys), None
        | Idx(images, Some labels) -> Idx.ReadDataset(images, labels), None
        | Idx(images, None) -> Dataset(Idx.ReadImages images, null), None
        | Csv(path, groups, label, table) ->
            // every input's columns are read at once, then cut into one tensor per input
            let spec =
                CsvSpec(columnList (groups |> List.collect fst), label |> Option.map column |> Option.toObj,
                        RequireFinite = true, Categorical = columnList table.Categorical,
                        Indexed = columnList table.Indexed, Missing = Option.toObj table.Missing,
                        Known = Option.toObj known, TrainingRows = System.Func<int, bool[]>(trainingRows cfg))
            let read = Csv.ReadTable(path, spec)
            let data, encoding = read.Data, Option.ofObj read.Encoding
            let cols = groups |> List.map fst
            if groups.Length <= 1 then data, encoding
            else
                let widths =
                    match encoding with
                    | Some e -> groupWidths cols e
                    | None -> cols |> List.map List.length
                data.WithInputs(splitColumns data.Features widths), encoding
        | Npy([ x, _ ], y) -> Npy.ReadDataset(x, Option.toObj y), None
        | Npy((x, _) :: more, y) ->
            let first = Npy.ReadDataset(x, Option.toObj y)
            let others =
                more |> List.map (fun (f, at) -> (guard at (fun () -> Npy.ReadDataset(f, null))).Features, f, at)
            for (o, f, at) in others do
                if o.Rows <> first.Count then
                    Diagnostic.fail DataErrorCodes.InputRowMismatch at
                        (sprintf "%s holds %d row%s but %s holds %d; the features of every input need the same \
                                  number of rows (their first axis)"
                            (DataException.NameOf f) o.Rows (if o.Rows = 1 then "" else "s")
                            (DataException.NameOf x) first.Count)
            first.WithInputs([| yield first.Features; for (o, _, _) in others -> o |]), None
        | Npy([], _) -> Diagnostic.fail "NN0405" cfg.DataSpan "`npy` needs at least one features file"
        | Generate(count, f, low, high, noise) ->
            // A stream of its own, so the data does not change when the model's initialization does.
            let rng = Rng.Derive(uint64 cfg.Seed, stream)
            let xs = Array.init count (fun _ -> low + (high - low) * rng.NextDouble())
            let ys = xs |> Array.map (fun x -> f x + noise * rng.NextNormal())
            requireFinite cfg.DataSpan "generated targets" (Array.map Array.singleton ys)
            Dataset(HostTensor([| count; 1 |], Array.map float32 xs), HostTensor([| count; 1 |], Array.map float32 ys)),
            None)

/// The examples of a train block (before the validation split), with the encoding of a CSV table's feature columns
/// when it has one: learnt from the file, or `known` (the one kept with the weights) applied to it.
let loadTable (known: TableEncoding option) (cfg: TrainConfig) : Dataset * TableEncoding option =
    read known cfg 0x6e6e6461UL

/// The examples of a train block (before the validation split).
let load (cfg: TrainConfig) : Dataset = fst (loadTable None cfg)

/// The examples of another source in the form of the block's data (`validation = csv ..`, `nn eval --data`), with
/// errors at `span`, a CSV table encoded as the training rows were (`known`); `generate` draws other rows than the
/// training data's.
let loadOther (known: TableEncoding option) (cfg: TrainConfig) (source: DataSource) (span: Span) : Dataset =
    fst (read known { cfg with Data = source; DataSpan = span; Validation = 0.0 } 0x76616c64UL)
