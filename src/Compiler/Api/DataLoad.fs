/// Reads a `train` block's data source into a dataset; data errors become diagnostics at the `data` field.
module Nn.Compiler.DataLoad

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

/// Run a data-reading action, reporting DataException as a diagnostic at `span`.
let guard (span: Span) (f: unit -> 'a) : 'a =
    try f ()
    with :? DataException as e -> Diagnostic.fail e.Code span e.Message

/// The examples of a train block (before the validation split).
let load (cfg: TrainConfig) : Dataset =
    guard cfg.DataSpan (fun () ->
        match cfg.Data with
        | Rows(xs, ys, _) -> Dataset(matrix xs, matrix ys)
        | Idx(images, Some labels) -> Idx.ReadDataset(images, labels)
        | Idx(images, None) -> Dataset(Idx.ReadImages images, null)
        | Csv(path, features, label) ->
            let features = if features.IsEmpty then null else features |> List.map column |> ResizeArray :> System.Collections.Generic.IReadOnlyList<_>
            Csv.Read(path, CsvSpec(features, label |> Option.map column |> Option.toObj))
        | Npy(x, y) -> Dataset(Npy.ReadHost x, y |> Option.map Npy.ReadHost |> Option.toObj)
        | Generate(count, f, low, high, noise) ->
            // A stream of its own, so the data does not change when the model's initialization does.
            let rng = Rng.Derive(uint64 cfg.Seed, 0x6e6e6461UL)
            let xs = Array.init count (fun _ -> low + (high - low) * rng.NextDouble())
            let ys = xs |> Array.map (fun x -> f x + noise * rng.NextNormal())
            Dataset(HostTensor([| count; 1 |], Array.map float32 xs), HostTensor([| count; 1 |], Array.map float32 ys)))
