# ptrain in a container, for serving a trained model on SageMaker, Azure ML or KServe (README.md,
# "Serving"). Debian 12, the project's own package list (slurm/install-deps.sh) for the build, only
# the run-time libraries in the image. The model is not in the image: the platforms mount it at
# /opt/ml/model, $AZUREML_MODEL_DIR or /mnt/models, where `ptrain serve` looks.
#
#   docker build -t ptrain:0.1.0 .
#   docker run --rm -p 8080:8080 -v "$PWD/results/run1:/opt/ml/model:ro" ptrain:0.1.0
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config ca-certificates \
        openmpi-bin libopenmpi-dev libhdf5-openmpi-dev libopenblas-dev \
        libpng-dev libjpeg-dev zlib1g-dev libmicrohttpd-dev libcjson-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPTRAIN_TESTS=OFF \
    && cmake --build build -j "$(nproc)" \
    && cmake --install build --prefix /opt/ptrain

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
        libopenmpi3 libhdf5-openmpi-103-1 libopenblas0 libpng16-16 libjpeg62-turbo zlib1g \
        libmicrohttpd12 libcjson1 libgomp1 openmpi-bin \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/ptrain /opt/ptrain
ENV PATH=/opt/ptrain/bin:$PATH \
    PTRAIN_SERVE_HOST=0.0.0.0
EXPOSE 8080
# SageMaker runs `<image> serve`; Azure ML and KServe run the default command or their own args.
ENTRYPOINT ["ptrain"]
CMD ["serve"]
