/// Damaged checkpoints through the `nn` command (#16.6–#16.8): `--resume` checks everything before training goes on,
/// `eval` and `predict` refuse NaN weights, and the temporary files of a killed write are cleaned up.
module Nn.Tests.Cli.Checkpoints

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// A folder holding xor.nn and `base/`, a run of two epochs (trained once, shared by the tests).
let private trained =
    lazy
        (let dir = Path.Combine(Path.GetTempPath(), "nn-ck-" + Guid.NewGuid().ToString("N"))
         Directory.CreateDirectory dir |> ignore
         File.Copy(Path.Combine(TestUtil.repoRoot, "examples", "xor.nn"), Path.Combine(dir, "xor.nn"))
         let code, _, err = nn dir [ "train"; "xor.nn"; "--set"; "epochs=2"; "--out"; "base"; "--quiet" ]
         if code <> 0 then failwithf "training xor failed: %s" err
         dir)

/// A copy of the base run in its own folder, its checkpoint rewritten by `damage` (tensors by name, metadata).
let private damaged (damage: Dictionary<string, RawTensor> -> Dictionary<string, string> -> unit) =
    let dir = trained.Force()
    let run = "run-" + Guid.NewGuid().ToString("N")
    Directory.CreateDirectory(Path.Combine(dir, run)) |> ignore
    for f in Directory.GetFiles(Path.Combine(dir, "base")) do File.Copy(f, Path.Combine(dir, run, Path.GetFileName f))
    let path = Path.Combine(dir, run, "checkpoint.safetensors")
    let ck = SafeTensors.Read path
    let tensors = Dictionary<string, RawTensor>()
    for n in ck.Names do tensors[n] <- ck[n]
    let meta = Dictionary<string, string>(ck.Metadata)
    damage tensors meta
    SafeTensors.Write(path, tensors, meta)
    dir, run

let private resume (dir: string, run: string) =
    let path = Path.Combine(dir, run, "checkpoint.safetensors")
    let before = File.ReadAllBytes path
    let code, _, err = nn dir [ "train"; "xor.nn"; "--resume"; run; "--set"; "epochs=4"; "--quiet" ]
    Expect.equal (File.ReadAllBytes path) before "a refused resume leaves the checkpoint as it was"
    code, err.Replace(run + "/", "run/")

let private refused (code: int, err: string) (expected: string) =
    Expect.equal code 1 (sprintf "exit code (stderr: %s)" err)
    Expect.stringStarts err expected "diagnostic"
    Expect.isFalse (err.Contains "   at ") "no stack trace"

let private setMeta key value =
    fun (_: Dictionary<string, RawTensor>) (m: Dictionary<string, string>) -> m[key] <- value

/// The tensor with its first float replaced by `v`.
let private poison (t: RawTensor) (v: float32) =
    let h = t.ToHost()
    let data = Array.copy h.Data
    data[0] <- v
    RawTensor.FromHost(HostTensor(h.Shape, data))

[<Tests>]
let tests =
    testList "Cli.Checkpoints" [
        test "--resume of a checkpoint without a weight is NN0708, not a silent re-initialisation (#16.6)" {
            refused (resume (damaged (fun t _ -> t.Remove "dense1.w" |> ignore)))
                "run/checkpoint.safetensors: error NN0708: cannot resume: it has no `dense1.w` \
                 (a parameter of the network)"
        }
        test "--resume of a checkpoint without an optimizer tensor is NN0708 (#16.6)" {
            refused (resume (damaged (fun t _ -> t.Remove "dense2.b.m" |> ignore)))
                "run/checkpoint.safetensors: error NN0708: cannot resume: it has no `dense2.b.m` (the optimizer's \
                 `m` slot of `dense2.b`)"
        }
        test "--resume of a negative epoch or step is NN0711 (#16.6)" {
            refused (resume (damaged (setMeta "epoch" "-1")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its epoch is -1"
            refused (resume (damaged (setMeta "step" "-5")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its step is -5"
        }
        test "--resume of an empty or malformed schedule is NN0711, not an internal error (#16.6)" {
            refused (resume (damaged (setMeta "schedule" "")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its `schedule` record has 0 numbers"
            refused (resume (damaged (setMeta "schedule" "1,x,0")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its `schedule` record holds \
                 `x`, which is not a number"
        }
        test "--resume of an empty or malformed rng is NN0711, not an internal error (#16.6)" {
            refused (resume (damaged (setMeta "rng" "")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its `rng` record holds ``, \
                 which is not a 64-bit word in hexadecimal"
            refused (resume (damaged (setMeta "rng" "1,2,3")))
                "run/checkpoint.safetensors: error NN0711: cannot resume: its shuffling state (`rng`) has 3 words"
        }
        test "--resume of a NaN moment or a run of another network is refused with a code (#16.6)" {
            refused (resume (damaged (fun t _ -> t["dense1.w.m"] <- poison t["dense1.w.m"] nanf)))
                "run/checkpoint.safetensors: error NN0710: `dense1.w.m` holds NaN at [0, 0]"
            refused (resume (damaged (setMeta "network" "other")))
                "run/checkpoint.safetensors: error NN0708: cannot resume: it is a run of `other`, not `xor`"
        }
        test "eval and predict refuse NaN or infinite weights, naming the tensor (#16.7)" {
            let dir, run = damaged (fun t _ -> t["dense1.w"] <- poison t["dense1.w"] nanf)
            let code, out, err = nn dir [ "eval"; "xor.nn"; "--weights"; run ]
            refused (code, err.Replace(run + "/", "run/")) "run/checkpoint.safetensors: error NN0710: \
                                                            `dense1.w` holds NaN at [0, 0]"
            Expect.isFalse (out.Contains "loss NaN") "no NaN loss printed"
            let dir, run = damaged (fun t _ -> t["dense2.b"] <- poison t["dense2.b"] -infinityf)
            Npy.Write(Path.Combine(dir, "points.npy"), HostTensor([| 1; 2 |], [| 0f; 1f |]))
            let code, _, err = nn dir [ "predict"; "xor.nn"; "--weights"; run; "--input"; "points.npy" ]
            refused (code, err.Replace(run + "/", "run/")) "run/checkpoint.safetensors: error NN0710: \
                                                            `dense2.b` holds -infinity at [0]"
        }
        test "the temporary file of a killed checkpoint write is removed by the next resume (#16.8)" {
            let dir, run = damaged (fun _ _ -> ())
            // what a process killed inside AtomicFile.Write leaves: its pid is gone (above any Linux pid_max)
            let name = sprintf ".checkpoint.safetensors.2147483646.%s.tmp" (Guid.NewGuid().ToString "N")
            let stale = Path.Combine(dir, run, name)
            File.WriteAllBytes(stale, Array.zeroCreate 4096)
            let code, _, err = nn dir [ "train"; "xor.nn"; "--resume"; run; "--set"; "epochs=3"; "--quiet" ]
            Expect.equal code 0 (sprintf "resumed (stderr: %s)" err)
            Expect.isFalse (File.Exists stale) "the stale temporary file is gone"
            let names = Directory.GetFiles(Path.Combine(dir, run)) |> Array.map Path.GetFileName |> Array.sort
            Expect.equal names [| "checkpoint.safetensors"; "curves.png"; "metrics.csv"; "xor.nn" |]
                "the run's files, nothing else"
        }
    ]
