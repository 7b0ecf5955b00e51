"""`coder models …`: what the store holds and how to change it."""

from __future__ import annotations

from dataclasses import asdict

from coder_cli import gguf
from coder_cli import manifest as manifests
from coder_cli.model_store import ModelStatus, Store, human_size


def statuses(store: Store) -> list[ModelStatus]:
    return [store.status(m) for m in manifests.load_all()]


def status_row(st: ModelStatus) -> dict:
    m = st.manifest
    return {
        "id": m.id,
        "aliases": list(m.aliases),
        "size": st.size,
        "size_human": ("~" if not m.bytes_exact and not st.installed else "") + human_size(st.size),
        "installed": st.installed,
        "verified": st.verified,
        "source": st.source,
        "description": m.description,
    }


def info(store: Store, name: str) -> dict:
    m = store.lookup(name)
    st = store.status(m)
    data = status_row(st)
    data.update(
        file=m.file,
        sha256=m.sha256,
        path=str(store.path_of(m)),
        parameters=m.parameters,
        quantization=m.quantization,
        context_length=m.context_length,
        huggingface={"repo": m.hf_repo, "revision": m.hf_revision},
        mirror=None
        if m.mirror is None
        else {
            "extra": m.mirror.extra,
            "version": m.mirror.version,
            "packages": [p.package for p in m.mirror.parts],
        },
        prompt=asdict(m.prompt),
        stop={"chat": list(m.stop_chat), "fim": list(m.stop_fim)},
        sampling=asdict(m.sampling),
        manifest=str(m.source),
    )
    if st.installed:
        header = gguf.read_info(store.path_of(m))
        data["gguf"] = {
            "name": header.name,
            "architecture": header.architecture,
            "version": header.version,
            "tensors": header.tensor_count,
            "context_length": header.context_length,
            "chat_template": bool(header.chat_template),
        }
    return data
