# Gatehouse: production image. Node 22 LTS (oidc-provider supports LTS releases from 22).
FROM node:22-bookworm-slim

ENV NODE_ENV=production \
    GATEHOUSE_DATA_DIR=/var/lib/gatehouse/data \
    GATEHOUSE_KEYS_DIR=/var/lib/gatehouse/keys

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
# The admin CLI: docker exec <container> node bin/gatehouse.mjs clients list
COPY bin ./bin
COPY views ./views
COPY migrations ./migrations
# Compiled once here (esbuild, installed with tsx): the container starts the JavaScript in dist/
# without tsx's loader and never writes code at run time (compose runs it read_only).
RUN node scripts/build.mjs

RUN mkdir -p /var/lib/gatehouse/data /var/lib/gatehouse/keys && chown -R node:node /var/lib/gatehouse
USER node
VOLUME ["/var/lib/gatehouse"]
EXPOSE 3000 3001

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# The built server, as `npm start` runs it (start-up measured in docs/operations.md).
CMD ["node", "dist/src/main.js"]
