# mailintake container: the worker with the push listener. Mount a config at
# /etc/mailintake/mailintake.yaml and a volume at /var/lib/mailintake (ledger, spool, output).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /var/lib/mailintake
ENV NODE_ENV=production LOG_FORMAT=json
COPY --from=build /app/node_modules /opt/mailintake/node_modules
COPY --from=build /app/dist /opt/mailintake/dist
COPY package.json /opt/mailintake/
COPY config/example.yaml /etc/mailintake/mailintake.yaml
RUN chown node:node /var/lib/mailintake
USER node
EXPOSE 2525 9465
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=4", "--initial-old-space-size=64", "/opt/mailintake/dist/cli/main.js"]
CMD ["run", "--push", "--config", "/etc/mailintake/mailintake.yaml"]
