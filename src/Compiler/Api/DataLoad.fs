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

/// The columns of a [N, total] matrix cut into one [N, width] matrix per list of columns, in order.
let splitColumns (x: HostTensor) (groups: Column list list) : HostTensor[] =
    let n, total = x.Shape[0], x.Shape[1]
    let widths = groups |> List.map List.length |> Array.ofList
    let starts = Array.scan (+) 0 widths
    widths |> Array.mapi (fun g w ->
        let data = Array.zeroCreate (n * w)
        for r in 0 .. n - 1 do
            System.Array.Copy(x.Data, r * total + starts[g], data, r * w, w)
        HostTensor([| n; w |], data))

/// Run a data-reading action, reporting a bad data file (DataException) as a diagnostic at `span`.
let guard (span: Span) (f: unit -> 'a) : 'a = RuntimeErrors.within span [] f

/// The examples of `cfg.Data`; `generate` draws from the random stream `stream` of the seed.
let private read (cfg: TrainConfig) (stream: uint64) : Dataset =
    guard cfg.DataSpan (fun () ->
        match cfg.Data with
        | Rows(xs, ys, _) ->
            requireFinite cfg.DataSpan "features" xs
            requireFinite cfg.DataSpan "targets" ys
            Dataset(matrix xs, matrix ys)
        | Idx(images, Some labels) -> Idx.ReadDataset(images, labels)
        | Idx(images, None) -> Dataset(Idx.ReadImages images, null)
        | Csv(path, groups, label) ->
            // every input's columns are read at once, then cut into one tensor per input
            let features =
                match groups |> List.collect fst with
                | [] -> null
                | cols -> cols |> List.map column |> ResizeArray :> System.Collections.Generic.IReadOnlyList<_>
            let label = label |> Option.map column |> Option.toObj
            let data = Csv.Read(path, CsvSpec(features, label, RequireFinite = true))
            if groups.Length <= 1 then data else data.WithInputs(splitColumns data.Features (groups |> List.map fst))
        | Npy([ x, _ ], y) -> Npy.ReadDataset(x, Option.toObj y)
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
            first.WithInputs([| yield first.Features; for (o, _, _) in others -> o |])
        | Npy([], _) -> Diagnostic.fail "NN0405" cfg.DataSpan "`npy` needs at least one features file"
        | Generate(count, f, low, high, noise) ->
            // A stream of its own, so the data does not change when the model's initialization does.
            let rng = Rng.Derive(uint64 cfg.Seed, stream)
            let xs = Array.init count (fun _ -> low + (high - low) * rng.NextDouble())
            let ys = xs |> Array.map (fun x -> f x + noise * rng.NextNormal())
            requireFinite cfg.DataSpan "generated targets" (Array.map Array.singleton ys)
            Dataset(HostTensor([| count; 1 |], Array.map float32 xs), HostTensor([| count; 1 |], Array.map float32 ys)))

/// The examples of a train block (before the validation split).
let load (cfg: TrainConfig) : Dataset = read cfg 0x6e6e6461UL

/// The examples of another source in the form of the block's data (`validation = csv ..`, `nn eval --data`), with
/// errors at `span`; `generate` draws other rows than the training data's.
let loadOther (cfg: TrainConfig) (source: DataSource) (span: Span) : Dataset =
    read { cfg with Data = source; DataSpan = span } 0x76616c64UL
