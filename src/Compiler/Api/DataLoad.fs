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

/// Run a data-reading action, reporting a bad data file (DataException) as a diagnostic at `span`.
let guard (span: Span) (f: unit -> 'a) : 'a = RuntimeErrors.within span [] f

/// Which of `n` rows the block trains on: those TrainPlan keeps after its shuffle (`shuffle = true`) and validation
/// split, so that what is learnt from the data (`missing = mean`) sees the training rows only, as `standardize` does.
let trainingRows (cfg: TrainConfig) (n: int) : bool[] =
    let held = int (System.Math.Round(float n * cfg.Validation, System.MidpointRounding.AwayFromZero))
    let order =
        if cfg.ShuffleRows then Dataset.Permutation(n, Rng.Derive(uint64 cfg.Seed, 0x73687566UL))
        else Array.init n id
    let mask = Array.zeroCreate n
    for k in 0 .. n - held - 1 do mask[order[k]] <- true
    mask

let private columnList (cols: Column list) =
    if cols.IsEmpty then null else cols |> List.map column |> ResizeArray :> System.Collections.Generic.IReadOnlyList<_>

/// The examples of a train block (before the validation split), with the encoding of a CSV table's feature columns
/// when it has one: learnt from the file, or `known` (the one kept with the weights) applied to it.
let rec loadTable (known: TableEncoding option) (cfg: TrainConfig) : Dataset * TableEncoding option =
    match cfg.Data with
    | Csv(path, features, label, table) ->
        guard cfg.DataSpan (fun () ->
            let spec =
                CsvSpec(columnList features, label |> Option.map column |> Option.toObj, RequireFinite = true,
                        Categorical = columnList table.Categorical, Indexed = columnList table.Indexed,
                        Missing = Option.toObj table.Missing, Known = Option.toObj known,
                        TrainingRows = System.Func<int, bool[]>(trainingRows cfg))
            let read = Csv.ReadTable(path, spec)
            read.Data, Option.ofObj read.Encoding)
    | _ -> load cfg, None

/// The examples of a train block (before the validation split).
and load (cfg: TrainConfig) : Dataset =
    guard cfg.DataSpan (fun () ->
        match cfg.Data with
        | Rows(xs, ys, _) ->
            requireFinite cfg.DataSpan "features" xs
            requireFinite cfg.DataSpan "targets" ys
            Dataset(matrix xs, matrix ys)
        | Idx(images, Some labels) -> Idx.ReadDataset(images, labels)
        | Idx(images, None) -> Dataset(Idx.ReadImages images, null)
        | Csv _ -> fst (loadTable None cfg)
        | Npy(x, y) -> Npy.ReadDataset(x, Option.toObj y)
        | Generate(count, f, low, high, noise) ->
            // A stream of its own, so the data does not change when the model's initialization does.
            let rng = Rng.Derive(uint64 cfg.Seed, 0x6e6e6461UL)
            let xs = Array.init count (fun _ -> low + (high - low) * rng.NextDouble())
            let ys = xs |> Array.map (fun x -> f x + noise * rng.NextNormal())
            requireFinite cfg.DataSpan "generated targets" (Array.map Array.singleton ys)
            Dataset(HostTensor([| count; 1 |], Array.map float32 xs), HostTensor([| count; 1 |], Array.map float32 ys)))
