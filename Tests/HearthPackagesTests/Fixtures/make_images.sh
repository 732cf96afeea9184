#!/usr/bin/env bash
# Builds test images with the real tools, from Debian's busybox-static:
#   oci/            OCI layout (umoci): tags base (1 layer), v2 (2 layers: deletes,
#                   replaces, removes a directory), zstd (v2 with its top layer
#                   recompressed as zstd), opaque (v2 + a layer with an opaque whiteout)
#   v2-docker.tar   docker save, legacy manifest.json form (skopeo docker-archive)
#   v2-oci.tar      OCI archive (skopeo oci-archive)
#   v2-docker-oci.tar   the form newer Docker writes: OCI layout plus manifest.json
#   function.zip    a Lambda zip made with zip: an executable bootstrap and a data file
set -euo pipefail
out=$1
mkdir -p "$out"
cd "$out"

umoci init --layout oci
umoci new --image oci:base
umoci unpack --image oci:base bundle >/dev/null
r=bundle/rootfs
mkdir -p $r/bin $r/etc $r/data/keep $r/data/gone
cp /bin/busybox $r/bin/busybox
for applet in sh cat ls stat; do ln -s busybox $r/bin/$applet; done
echo v1 > $r/etc/version
echo "to be deleted" > $r/etc/deleted
echo keep > $r/data/keep/a
echo gone > $r/data/gone/b
echo old > $r/data/old
umoci repack --image oci:base bundle >/dev/null
umoci config --image oci:base --tag base \
  --config.entrypoint /bin/sh --config.cmd=-c --config.cmd='cat /etc/version' \
  --config.env GREETING=hello --config.workingdir /data --config.user 0 >/dev/null
rm -rf bundle

umoci unpack --image oci:base bundle >/dev/null
rm bundle/rootfs/etc/deleted
echo v2 > bundle/rootfs/etc/version
rm -rf bundle/rootfs/data/gone
echo new > bundle/rootfs/data/added
umoci repack --image oci:v2 bundle >/dev/null
rm -rf bundle

skopeo --insecure-policy copy -q oci:oci:v2 docker-archive:v2-docker.tar:hearth/test:v2
skopeo --insecure-policy copy -q oci:oci:v2 oci-archive:v2-oci.tar:v2

python3 - <<'EOF'
import gzip, hashlib, io, json, os, shutil, subprocess, tarfile

def blob(path):
    return os.path.join("oci", "blobs", "sha256", path.split(":")[1])

def put(data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(digest), "wb") as f:
        f.write(data)
    return {"mediaType": media, "digest": digest, "size": len(data)}

index = json.load(open("oci/index.json"))
v2 = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == "v2")
manifest = json.load(open(blob(v2["digest"])))

def add_tag(tag, manifest_obj):
    desc = put(json.dumps(manifest_obj).encode(), "application/vnd.oci.image.manifest.v1+json")
    desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    index["manifests"].append(desc)

# zstd: same layers, the top one recompressed; diff_ids (uncompressed) stay as they are.
top = manifest["layers"][-1]
raw = gzip.decompress(open(blob(top["digest"]), "rb").read())
zst = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
zmanifest = json.loads(json.dumps(manifest))
zmanifest["layers"][-1] = put(zst, "application/vnd.oci.image.layer.v1.tar+zstd")
add_tag("zstd", zmanifest)

# opaque: a third layer that makes /data opaque and adds one file next to the marker.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for name, data in [("data/fresh", b"fresh\n"), ("data/.wh..wh..opq", b"")]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
layer_raw = buf.getvalue()
config = json.load(open(blob(manifest["config"]["digest"])))
config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(layer_raw).hexdigest())
omanifest = json.loads(json.dumps(manifest))
omanifest["config"] = put(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
omanifest["layers"].append(put(gzip.compress(layer_raw), "application/vnd.oci.image.layer.v1.tar+gzip"))
add_tag("opaque", omanifest)
json.dump(index, open("oci/index.json", "w"))

# Newer docker save: an OCI layout of one image plus the legacy manifest.json pointing into blobs/.
os.makedirs("docker-oci/blobs/sha256")
for d in [v2["digest"], manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]:
    shutil.copy(blob(d), os.path.join("docker-oci", "blobs", "sha256", d.split(":")[1]))
shutil.copy("oci/oci-layout", "docker-oci/oci-layout")
json.dump({"schemaVersion": 2, "manifests": [v2]}, open("docker-oci/index.json", "w"))
json.dump([{"Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1], "RepoTags": ["hearth/test:v2"],
            "Layers": ["blobs/sha256/" + l["digest"].split(":")[1] for l in manifest["layers"]]}],
          open("docker-oci/manifest.json", "w"))
EOF
tar -C docker-oci -cf v2-docker-oci.tar .
rm -rf docker-oci

mkdir fn
printf '#!/bin/sh\necho "bootstrap ran: $(cat /var/task/data.txt)"\n' > fn/bootstrap
chmod 755 fn/bootstrap
echo data > fn/data.txt
chmod 600 fn/data.txt
(cd fn && zip -q -r ../function.zip .)
rm -rf fn
