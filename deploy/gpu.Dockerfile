# facechain-bot GPU worker: generation on ONNX Runtime's CUDA provider, face-LoRA training and
# exports with the Python scripts of gpu/ (torch, diffusers, PEFT).
# Build from the repository root:  docker build -f deploy/gpu.Dockerfile -t facechain-bot:gpu .
# Run with the NVIDIA Container Toolkit (docker run --gpus all ...; compose.yaml reserves a GPU).
# NOT VERIFIED: no container engine or GPU on the project's development machines (docs/gpu-host.md).

# Node dependencies, with onnxruntime-node's CUDA 12 execution provider (README "GPU install"):
# its install script is run by name, since .npmrc's ignore-scripts makes npm's rebuild run nothing.
FROM node:20-bookworm AS node-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && npm cache clean --force

# CUDA 12 and cuDNN 9 runtime libraries, as onnxruntime-node's CUDA provider and torch need them.
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    FACECHAIN_DATA_DIR=/data \
    FACECHAIN_MODELS_DIR=/opt/facechain/models \
    FACECHAIN_EXECUTION_PROVIDERS=cuda,cpu \
    FACECHAIN_HEALTH_HOST=0.0.0.0 \
    VIRTUAL_ENV=/opt/fc-venv \
    PATH=/opt/fc-venv/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates ffmpeg espeak-ng fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

# Python 3.10 (Ubuntu 22.04) with the scripts' pinned dependencies.
COPY gpu/requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/fc-venv \
 && /opt/fc-venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

COPY --from=node-deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=node-deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY base ./base
COPY bin ./bin
COPY bot ./bot
COPY commands ./commands
COPY core ./core
COPY models ./models
COPY queue ./queue
COPY gpu ./gpu
RUN node bin/facechain.js models fetch

RUN useradd --create-home --uid 1000 facechain && mkdir -p /data && chown facechain:facechain /data
USER facechain
VOLUME ["/data"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD node -e "fetch('http://127.0.0.1:9464/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/facechain.js"]
CMD ["worker", "--queues", "gpu-sd15"]
