# facechain-bot: the bot (front-ends, delivery) and CPU workers. CPU build of ONNX Runtime.
# Build from the repository root:  docker build -f deploy/cpu.Dockerfile -t facechain-bot:cpu .
# NOT VERIFIED: no container engine runs on the project's development machines (docs/gpu-host.md).
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_onnxruntime_node_install=skip \
    npm_config_onnxruntime_node_install_cuda=skip \
    MALLOC_ARENA_MAX=2 \
    FACECHAIN_DATA_DIR=/data \
    FACECHAIN_MODELS_DIR=/opt/facechain/models \
    FACECHAIN_HEALTH_HOST=0.0.0.0 \
    WEB_HOST=0.0.0.0

# ffmpeg and eSpeak NG (talking portraits; run as processes), a CJK font (Chinese words on the
# photo report's contact sheet).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# tsx runs the TypeScript sources directly, so production dependencies are all it needs.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY base ./base
COPY bin ./bin
COPY bot ./bot
COPY commands ./commands
COPY core ./core
COPY models ./models
COPY queue ./queue
COPY tsconfig.json ./
# The face and body models (about 24 MB, sha256-checked) are baked in.
RUN node bin/facechain.js models fetch

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 7860 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:9464/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/facechain.js"]
CMD ["start"]
