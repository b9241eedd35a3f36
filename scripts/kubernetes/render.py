"""A small kustomize renderer for deploy/kubernetes (used by check_kubernetes.py where neither
`kubectl` nor `kustomize` is installed, and compared against `kubectl kustomize` where it is).

It knows only the features the manifests use, and refuses any other field of a
kustomization.yaml: resources (files, or directories with a kustomization.yaml), namespace,
generatorOptions.disableNameSuffixHash (must be true), configMapGenerator and secretGenerator
(files, envs, literals; behavior create or replace), images (name, newName, newTag), and
patches by path, merged as a strategic merge: maps merge, a null deletes the field; the lists of pod specs that
Kubernetes merges by name (containers, initContainers, env, volumes, volumeMounts) merge item by
item on `name` (the patch's items first, as kustomize orders them); other lists and scalars replace. The output is the objects,
not kustomize's ordering.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import yaml

KNOWN = {"apiVersion", "kind", "namespace", "resources", "generatorOptions", "configMapGenerator",
         "secretGenerator", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "ValidatingAdmissionPolicy", "PriorityClass"}


class RenderError(Exception):
    pass


def key(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


# Lists whose patchMergeKey is `name` in the Kubernetes API.
MERGED_BY_NAME = {"containers", "initContainers", "env", "volumes", "volumeMounts"}


def merge(base, patch, field: str | None = None):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:  # a strategic merge deletes the field
                out.pop(k, None)
            else:
                out[k] = merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    if field in MERGED_BY_NAME and isinstance(base, list) and isinstance(patch, list):
        # kustomize's order: the patch's items (merged into the base's of the same name) first,
        # then the base's other items
        by_name = {b.get("name"): b for b in base}
        named = {item.get("name") for item in patch}
        return ([merge(by_name[i["name"]], i) if i.get("name") in by_name else copy.deepcopy(i) for i in patch]
                + [copy.deepcopy(b) for b in base if b.get("name") not in named])
    return copy.deepcopy(patch)


def parse_env(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


def generated(kind: str, spec: dict, here: Path) -> dict:
    data: dict[str, str] = {}
    for f in spec.get("files", []):
        name, _, path = f.rpartition("=") if "=" in f else (None, None, f)
        p = here / path
        data[name or p.name] = p.read_text()
    for e in spec.get("envs", []):
        data.update(parse_env((here / e).read_text()))
    for lit in spec.get("literals", []):
        k, v = lit.split("=", 1)
        data[k] = v
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}}
    if kind == "Secret":
        obj["type"] = spec.get("type", "Opaque")
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    return obj


def render(directory: Path) -> list[dict]:
    here = directory.resolve()
    k = yaml.safe_load((here / "kustomization.yaml").read_text())
    unknown = set(k) - KNOWN
    if unknown:
        raise RenderError(f"{here}: fields this renderer does not know: {sorted(unknown)}")
    if (k.get("configMapGenerator") or k.get("secretGenerator")) and not (
        k.get("generatorOptions", {}).get("disableNameSuffixHash")
    ):
        raise RenderError(f"{here}: generators need generatorOptions.disableNameSuffixHash: true here")
    objs: dict[tuple[str, str], dict] = {}
    order: list[tuple[str, str]] = []

    def add(obj: dict) -> None:
        kk = key(obj)
        if kk in objs:
            raise RenderError(f"{here}: {kk} defined twice")
        objs[kk] = obj
        order.append(kk)

    for r in k.get("resources", []):
        p = here / r
        if p.is_dir():
            for obj in render(p):
                add(obj)
        else:
            for obj in yaml.safe_load_all(p.read_text()):
                if obj:
                    add(obj)
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for spec in k.get(field, []):
            obj = generated(kind, spec, here)
            behavior = spec.get("behavior", "create")
            kk = key(obj)
            if behavior == "replace":
                if kk not in objs:
                    raise RenderError(f"{here}: {kk} to replace does not exist")
                objs[kk] = obj
            elif behavior == "create":
                add(obj)
            else:
                raise RenderError(f"{here}: generator behavior {behavior!r} is not supported")
    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            raise RenderError(f"{here}: only patches by path are supported: {patch}")
        p = yaml.safe_load((here / patch["path"]).read_text())
        kk = key(p)
        if kk not in objs:
            raise RenderError(f"{here}: patch {patch['path']} targets {kk}, which does not exist")
        objs[kk] = merge(objs[kk], p)
    images = {i["name"]: i for i in k.get("images", [])}
    ns = k.get("namespace")
    out = []
    for kk in order:
        obj = objs[kk]
        if ns and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = ns
        if ns and obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for s in obj.get("subjects", []):
                if s.get("kind") == "ServiceAccount":
                    s["namespace"] = ns
        for spec in pod_specs(obj):
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                name, _, tag = c["image"].partition(":")
                if name in images:
                    i = images[name]
                    c["image"] = f"{i.get('newName', name)}:{i.get('newTag', tag)}"
        out.append(obj)
    return out


def pod_specs(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"):
        return [spec["template"]["spec"]]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if obj["kind"] == "Pod":
        return [spec]
    return []
