"""ImageLocality: spec/kube-scheduler.md §5.6 (score).

The plugin is fastsched/plugins/image_locality.py. These cases check the plain
reference scheduler (tests/_reference.py); each expectation is computed by hand in
a comment.
"""

import _reference as ref
from _helpers import MI, make_cluster, only

from fastsched import Pod


def test_image_locality():
    # Three nodes. nginx:latest (300Mi) is on n1 and n2, "app:v2" (1500Mi) on n1 only.
    # Pod: init container "app:v2", container "nginx" (untagged → nginx:latest).
    # n1: 1500Mi·1/3 = 500Mi, plus 300Mi·2/3 = 200Mi → 700Mi; maxT = 2·1000Mi;
    #     100·(700 − 23)/(2000 − 23) = 67700/1977 = 34.
    # n2: 200Mi → 100·(200 − 23)/1977 = 17700/1977 = 8.
    # n3: nothing → clamped to 23Mi → 0.
    c = make_cluster(
        ("n1", {"cpu": 1000}, {"images": {"nginx": 300 * MI, "app:v2": 1500 * MI}}),
        ("n2", {"cpu": 1000}, {"images": {"nginx:latest": 300 * MI}}),
        ("n3", {"cpu": 1000}),
    )
    pod = Pod("p", init_containers=[{"image": "app:v2"}], containers=[{"image": "nginx"}])
    assert ref.score_plugins(c, pod, only("ImageLocality"), ["n1", "n2", "n3"]) == {
        "ImageLocality": [34, 8, 0]}


def test_image_locality_clamps_at_max():
    # One container, 2000Mi image on the only node: sum clamps to maxT = 1000Mi → 100.
    c = make_cluster(("n1", {"cpu": 1000}, {"images": {"big:1": 2000 * MI}}))
    pod = Pod("p", containers=[{"image": "big:1"}])
    assert ref.image_locality(c, pod, "n1") == 100
