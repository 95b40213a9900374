#!/usr/bin/env bash
# Drives every fastsched command as a shell user would: pipes, stdin, -f, -o, exit
# statuses. Run by tests/test_cli_walkthrough.py, which checks what it leaves behind:
#   walkthrough.sh EXAMPLES_DIR OUT_DIR
# For each step NAME it writes OUT_DIR/NAME.out (stdout), NAME.err (stderr) and
# NAME.rc (the exit status). The script itself never stops on a failing command.
set -u
examples=$1
out=$2
fastsched=${FASTSCHED:-fastsched}
nodes=$examples/nodes.yaml
app=$examples/seed-app.yaml
mkdir -p "$out"

step() {            # step NAME COMMAND...: run it, keep stdout, stderr and status
    local name=$1
    shift
    "$@" >"$out/$name.out" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}

# a pod that fits no node, for the unschedulable exit status
cat >"$out/huge.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: c
    resources: {requests: {cpu: "1000"}}
YAML
printf '10.0.0.1\n10.0.0.2\nclient-3\n' >"$out/keys.txt"
printf '5\n10\n6\n5\n4\n3\n2\n' >"$out/bpplib.txt"          # BPPLIB: n, capacity, sizes
# an openb-shaped GPU trace: two nodes, four tasks (a GPU share, whole GPUs, cpu only)
printf 'sn,cpu_milli,memory_mib,gpu,model\nn1,32000,65536,4,T4\nn2,64000,131072,8,G2\n' \
    >"$out/gpu-nodes.csv"
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n%s\n%s\n%s\n%s\n' \
    'a,4000,8192,1,500,' 'b,8000,16384,2,1000,G2' 'c,1000,2048,0,0,' 'd,2000,4096,1,1000,' \
    >"$out/gpu-pods.csv"
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,qos,creation_time,deletion_time\n%s\n%s\n%s\n' \
    'a,4000,8192,1,500,LS,0,100' 'b,8000,16384,8,1000,BE,10,50' 'c,1000,2048,8,1000,BE,20,90' \
    >"$out/gpu-timed.csv"

dump=$examples/cluster-dump/cluster.yaml
catalog=$examples/catalog-aws.yaml

# reports in every format
step demo           $fastsched demo --nodes 200 --pods 500 --running 20
step inspect-json   $fastsched inspect "$nodes" "$app" -o json
step inspect-yaml   $fastsched inspect -f "$nodes" -f "$app" -o yaml
step inspect-name   $fastsched inspect "$nodes" "$app" -o name
step schedule-table $fastsched schedule "$nodes" "$app"
step schedule-wide  $fastsched schedule "$nodes" "$app" -o wide
step schedule-json  $fastsched schedule "$nodes" "$app" -o json
step schedule-name  $fastsched schedule "$nodes" "$app" -o name
step solve-json     $fastsched solve "$nodes" "$app" -o json --time-limit 5
step solve-table    $fastsched solve "$nodes" "$app" --time-limit 5
step route-table    $fastsched route "$nodes" "$app" --service my-service --keys "$out/keys.txt" --schedule
step route-json     $fastsched route "$nodes" "$app" --service my-service --keys "$out/keys.txt" --schedule -o json
step binpack-table  $fastsched binpack "$out/bpplib.txt"
step binpack-json   $fastsched binpack "$out/bpplib.txt" -o json
step simulate-json  $fastsched simulate --nodes "$out/gpu-nodes.csv" --pods "$out/gpu-pods.csv" --policy FGD -o json
step sweep-json     $fastsched sweep --nodes "$out/gpu-nodes.csv" --pods "$out/gpu-pods.csv" --policies FGD,Random --seeds 1-2 --workers 1 -q -o json
step timed-json     $fastsched simulate --nodes "$out/gpu-nodes.csv" --pods "$out/gpu-timed.csv" --timed -o json
step simulate-table $fastsched simulate --nodes "$out/gpu-nodes.csv" --pods "$out/gpu-pods.csv" --policy bestfit --seed 7

# stdin: manifests, keys and instances through pipes
cat "$app" | step schedule-stdin $fastsched schedule "$nodes" - -o json
{ cat "$nodes"; echo ---; cat "$app"; } | step inspect-stdin $fastsched inspect - -o json
cat "$out/keys.txt" | step route-stdin $fastsched route "$nodes" "$app" --service my-service --keys - --schedule
cat "$out/bpplib.txt" | step binpack-stdin $fastsched binpack - -o yaml

# what-if: the questions of the README, each under 5 s
step plan-drain     $fastsched plan "$dump" --drain topology.kubernetes.io/zone=eu-west-1b -o json
step plan-scale     $fastsched plan "$dump" --scale prod/web=500 --catalog "$catalog" -o yaml
step plan-like      $fastsched plan "$dump" --add-nodes worker-a=10
step plan-bindings  $fastsched plan "$dump" --add-nodes m5.xlarge=2 --catalog "$catalog" --bindings -
step plan-consolidate $fastsched plan "$dump" --catalog "$catalog" --consolidate --allow-unschedulable -o json

# Bindings on stdout, one pipeline further: kubectl-style YAML
step bindings-stdout $fastsched schedule "$nodes" "$app" --bindings -
step bindings-file   $fastsched schedule "$nodes" "$app" --bindings "$out/bindings.json"

# exit statuses
step unschedulable       $fastsched schedule "$nodes" "$app" "$out/huge.yaml" -o json
step unschedulable-ok    $fastsched schedule "$nodes" "$app" "$out/huge.yaml" --allow-unschedulable
step solve-unplaced      $fastsched solve "$nodes" "$app" "$out/huge.yaml" -o json --time-limit 5
step solve-unplaced-ok   $fastsched solve "$nodes" "$app" "$out/huge.yaml" --allow-unschedulable --time-limit 5

# bad input: status 2, a one-line message, never a traceback
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n' >"$out/broken.yaml"
printf '3\n10\n4\nfive\n' >"$out/broken.txt"
step bad-missing-file $fastsched schedule "$out/no-such-file.yaml"
step bad-yaml         $fastsched schedule "$nodes" "$out/broken.yaml"
step bad-option       $fastsched schedule "$nodes" --profle x
step bad-output       $fastsched inspect "$nodes" -o results.json
step bad-command      $fastsched shedule "$nodes"
step bad-no-manifests $fastsched solve
step bad-service      $fastsched route "$nodes" "$app" --service nope --keys "$out/keys.txt"
step bad-binpack      $fastsched binpack "$out/broken.txt"
step bad-two-stdins   $fastsched route - --service my-service --keys -
printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\na,1000,1024,3,500\n' >"$out/bad-pods.csv"
step bad-sim-row      $fastsched simulate --nodes "$out/gpu-nodes.csv" --pods "$out/bad-pods.csv"
step bad-sim-policy   $fastsched simulate --nodes "$out/gpu-nodes.csv" --pods "$out/gpu-pods.csv" --policy Tetris
step bad-plan-node    $fastsched plan "$dump" --drain worker-z
step bad-plan-scale   $fastsched plan "$dump" --scale prod/nope=3
step bad-plan-consolidate $fastsched plan "$dump" --consolidate
exit 0
