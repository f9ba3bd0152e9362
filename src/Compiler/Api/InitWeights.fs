/// `init = weights "run or file" { rename }` and `nn train --init-from RUN`: training starts from another run's
/// weights. Every parameter (and layer state, such as batch-norm statistics) of the network whose path, after the
/// renames, is in the file with the same shape is loaded; the others keep their initializer. Like Keras'
/// `load_weights(by_name=True)` and PyTorch's `load_state_dict(strict=False)`, except that a path found with another
/// shape is an error rather than skipped.
module internal Nn.Compiler.InitWeights

open System.Collections.Generic
open System.IO
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Runtime.Training

/// The weights file is missing or cannot be read.
[<Literal>]
let Missing = "NN0585"

/// A path of the file, renamed, names a parameter of the network with another shape.
[<Literal>]
let ShapeMismatch = "NN0586"

/// `--init-from RUN` does not name a run folder.
[<Literal>]
let NotARun = "NN0587"

/// No tensor of the file matches a parameter of the network.
[<Literal>]
let NothingMatches = "NN0588"

/// What was loaded: the file read, each loaded path with the file's name for it, and the paths that kept their
/// initializer (in the network's order).
type Report = { File: string; Loaded: (string * string) list; Kept: string list }

let private name (path: string) = Path.GetFileName path

/// The file's name `n` as the network calls it: the first pair whose `from` starts it has that prefix replaced.
let renamed (rename: (string * string) list) (n: string) =
    match rename |> List.tryFind (fun (from, _) -> n.StartsWith(from, System.StringComparison.Ordinal)) with
    | Some(from, into) -> into + n.Substring from.Length
    | None -> n

/// The weights file a path stands for: a run folder's (best.safetensors or checkpoint.safetensors, as eval loads),
/// `runs/NET/latest`, or a safetensors file. NN0585 when there is nothing to read.
let file (path: string) =
    let resolved = RunPaths.resolveWeights path
    if not (File.Exists resolved) then
        let why =
            if Directory.Exists path then
                sprintf "the folder holds no %s or %s (it is not a run folder)" RunPaths.FileName RunPaths.BestFileName
            else "no such run folder or weights file"
        raise (DataException(Missing, path, sprintf "%s: %s" (name path) why))
    resolved

/// `--init-from RUN`: RUN must be a run folder (or `runs/NET/latest`) holding a checkpoint (NN0587; NN0585 when it
/// does not exist).
let runFolder (path: string) =
    let full = Path.GetFullPath path
    if not (Directory.Exists full || File.Exists full) then
        raise (DataException(Missing, path, sprintf "%s: --init-from: no such run folder" (name full)))
    if not (File.Exists(RunPaths.resolve full)) || RunPaths.resolve full = full then
        raise (
            DataException(
                NotARun,
                path,
                sprintf "%s: --init-from takes a run folder of `nn train` (holding %s), such as runs/NET/latest; "
                    (name full) RunPaths.FileName
                + "give a weights file as `init = weights \"file.safetensors\"` in the train block"
            )
        )
    full

/// Load into `values` every node of `nodes` (the network's Params and States) the file at `path` holds under its
/// renamed path and with its shape; NN0586 for a renamed path with another shape, NN0588 when nothing matches,
/// NN0710 for NaN or infinity.
let load (path: string) (rename: (string * string) list) (nodes: Node seq) (values: Dictionary<string, HostTensor>) =
    let path = file path
    let ck =
        try SafeTensors.Read path
        with :? DataException as e when
            e.Code = DataErrorCodes.CheckpointNotFound || e.Code = DataErrorCodes.FileUnreadable ->
            raise (DataException(Missing, path, e.Standalone))
    // a checkpoint's restored copies (`best:...`) are not weights of their own
    let names = ck.Names |> Seq.filter (fun n -> not (n.Contains ':')) |> List.ofSeq
    let byTarget = Dictionary<string, string>()
    for n in names do byTarget.TryAdd(renamed rename n, n) |> ignore
    let nodes = nodes |> Seq.distinctBy (fun n -> n.Name) |> List.ofSeq
    let loaded =
        [ for n in nodes do
              match byTarget.TryGetValue n.Name with
              | true, source ->
                  let t = ck[source]
                  let want = n.Shape.Resolve(Dictionary<string, int>())
                  if t.Shape <> want then
                      let as' = if source = n.Name then "" else sprintf " (renamed `%s`)" n.Name
                      raise (
                          DataException(
                              ShapeMismatch,
                              path,
                              sprintf "%s: `%s`%s is %s in the file, but the network's `%s` is %s"
                                  (name path) source as' (HostTensor.FormatShape t.Shape) n.Name
                                  (HostTensor.FormatShape want)
                          )
                      )
                  let host = t.ToHost()
                  ResumeCheck.RequireFinite(path, source, host)
                  values[n.Name] <- host
                  yield n.Name, source
              | _ -> () ]
    if loaded.IsEmpty then
        let show (xs: string list) =
            let shown = xs |> List.truncate 6 |> List.map (sprintf "`%s`") |> String.concat ", "
            if xs.Length > 6 then sprintf "%s and %d more" shown (xs.Length - 6) else shown
        let hint = if rename.IsEmpty then "; map path prefixes with { rename = [(\"from.\", \"to.\")] }" else ""
        raise (
            DataException(
                NothingMatches,
                path,
                sprintf "%s: no tensor of the file matches a parameter of the network (the file has %s; the network "
                    (name path) (show names)
                + sprintf "has %s)%s" (show (nodes |> List.map (fun n -> n.Name))) hint
            )
        )
    let got = loaded |> List.map fst |> set
    { File = path; Loaded = loaded; Kept = nodes |> List.map (fun n -> n.Name) |> List.filter (got.Contains >> not) }

/// The report in a few lines, as `nn train` prints it before training.
let describe (cwdRelative: string -> string) (r: Report) =
    let total = r.Loaded.Length + r.Kept.Length
    let one (target, source) = if target = source then target else sprintf "%s (from %s)" target source
    [ yield sprintf "init from %s: loaded %d of %d parameters and states" (cwdRelative r.File) r.Loaded.Length total
      yield "  loaded: " + (r.Loaded |> List.map one |> String.concat ", ")
      if not r.Kept.IsEmpty then yield "  kept their initializer: " + String.concat ", " r.Kept ]
