/// What a run folder stands for: the files inside it that `--resume`, eval, predict and `init = weights` read.
module internal Nn.Compiler.RunPaths

open System.IO

/// The file name of the checkpoint inside a run folder.
[<Literal>]
let FileName = "checkpoint.safetensors"

/// The file name of the weights early stopping restored, inside a run folder: written when the weights a run ends
/// with are not its last epoch's (the checkpoint keeps the last epoch's full state, for `--resume`).
[<Literal>]
let BestFileName = "best.safetensors"

/// A run folder stands for the checkpoint inside it (the state `--resume` continues); `runs/NET/latest` is a link to
/// the newest run folder, or, where links cannot be made, a one-line file naming it.
let resolve (path: string) =
    let path =
        if Path.GetFileName path = "latest" && File.Exists path && FileInfo(path).Length < 256L then
            Path.Combine(Path.GetDirectoryName path, File.ReadAllText(path).Trim())
        else path
    if Directory.Exists path then Path.Combine(path, FileName) else path

/// A run folder stands for the weights its training ended with: the restored ones (`best.safetensors`) when early
/// stopping restored an earlier epoch, else the checkpoint. What eval, predict and the embedding API load.
let resolveWeights (path: string) =
    let best = Path.Combine(path, BestFileName)
    if Directory.Exists path && File.Exists best then best else resolve path
