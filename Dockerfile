# Production image: compiled JavaScript, `node` as PID 1 (exec-form CMD), so SIGTERM reaches the server and the
# drain runs (DRAIN_TIMEOUT_MS + DRAIN_GOODBYE_MS: give `docker stop -t` / terminationGracePeriodSeconds that much).
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && mkdir -p agents

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Agent modules (AGENT=agents/….ts) are loaded from source at run time.
COPY --from=build /app/agents ./agents
USER node
EXPOSE 8080
CMD ["node", "dist/src/cli/main.js"]
